package dev.kiln.autotune.db;

import java.time.Instant;
import java.util.List;

/** Test records: distinct, with every field set, so that a field lost on the way shows up. */
final class Records {
    static final Instant T0 = Instant.parse("2025-03-01T12:00:00.123456789Z");

    private Records() {
    }

    static TuningRecord ok(String target, String workload, String config, double cost, long trial) {
        return new TuningRecord(target, workload, "matmul 64x64x64 f32 " + workload, config,
                "split i 8\nreorder io jo ii ji\nvectorize ji", List.of(cost, cost * 1.5, cost * 0.5),
                ErrorCode.NONE, null, 2.0 * 64 * 64 * 64, T0.plusSeconds(trial), "0.1.0",
                "host-a/Intel Xeon 8480", "random", trial, "run-1");
    }

    static TuningRecord error(String target, String workload, String config, ErrorCode code, long trial) {
        return new TuningRecord(target, workload, "matmul 64x64x64 f32 " + workload, config, "split i 7",
                List.of(), code, code + ": split 7 does not divide 64", 2.0 * 64 * 64 * 64, T0.plusSeconds(trial),
                "0.1.0", "host-a/Intel Xeon 8480", "random", trial, "run-1");
    }

    static TuningRecord withRun(TuningRecord r, String runId, Instant time) {
        return new TuningRecord(r.target(), r.workloadKey(), r.workloadDesc(), r.config(), r.trace(),
                r.costsSeconds(), r.errorCode(), r.errorMessage(), r.flops(), time, r.kilnVersion(), r.deviceKey(),
                r.tuner(), r.trial(), runId);
    }
}
