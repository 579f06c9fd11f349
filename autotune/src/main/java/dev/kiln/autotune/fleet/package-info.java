/**
 * A fleet of boards with the team's PostgreSQL as its broker: boards register and take
 * measurement jobs of their key ({@link Board}), a tuner fans a round's candidates out to them
 * ({@link FleetRunner}), and each result is written as a tuning record in the transaction that
 * completes its job ({@link Broker}).
 */
package dev.kiln.autotune.fleet;
