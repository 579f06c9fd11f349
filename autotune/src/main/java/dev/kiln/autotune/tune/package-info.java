/**
 * The tuning loop: tasks extracted from a model's optimized graph, candidates built for one config
 * each ({@link dev.kiln.autotune.tune.CandidateBuilder}) and measured by a runner, every
 * measurement committed to the tuning database; and the configs {@code kiln compile --db} reads back.
 */
package dev.kiln.autotune.tune;
