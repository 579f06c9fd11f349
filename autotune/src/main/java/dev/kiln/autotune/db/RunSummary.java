package dev.kiln.autotune.db;

import java.time.Instant;

/**
 * What one {@code kiln tune} invocation recorded: its records and errors, how many distinct workloads, when its first and last measurement
 * happened, and its provenance ({@link Provenance#NONE} for runs of Kilns before schema 3).
 */
public record RunSummary(String runId, String target, String tuner, String deviceKey, String kilnVersion,
                         long workloads, long records, long errors, Instant started, Instant finished, Provenance provenance) {
}
