package dev.kiln.autotune.db;

import java.time.Instant;

/**
 * What one {@code kiln tune} invocation recorded: its records and errors, how many distinct
 * workloads, and when its first and last measurement happened.
 */
public record RunSummary(String runId, String target, String tuner, String deviceKey, String kilnVersion,
                         long workloads, long records, long errors, Instant started, Instant finished) {
}
