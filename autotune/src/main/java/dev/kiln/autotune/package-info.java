/**
 * Autotuning: config spaces, feature extraction, the learned cost model, tuners, measurement
 * and the tuning database. Empty until the autotuning issue; untuned compiles use each schedule
 * template's heuristic default config.
 */
package dev.kiln.autotune;
