package dev.kiln.autotune.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkloadRecordsTest {
    private static final String DEFAULTS = "t=8";

    /** A record of {@code config} timed at {@code cost} (two agreeing timings), beside a reference of {@code reference}. */
    private static TuningRecord at(String config, double cost, double reference, String tuner) {
        return new TuningRecord("x86_64-avx2", "mm", "matmul", config, "", List.of(cost, cost), ErrorCode.NONE, null, 2e6,
                Instant.parse("2026-01-01T00:00:00Z"), "0.2.0", "host/cpu", tuner, 0, "run", "threads=1,cache=model", reference);
    }

    /**
     * The machine slows down by half between two rounds: a config measured in the slow round is
     * still recognised as the faster one, because its reference was measured slow as well.
     */
    @Test
    void recordsTakenAtDifferentSpeedsOfTheMachineCompareByTheirReferences() {
        TuningRecord def = at(DEFAULTS, 1.0e-3, 1.0e-3, "xgb");
        TuningRecord fastRound = at("t=4", 0.9e-3, 1.0e-3, "xgb"); // 10 % faster than the default
        TuningRecord slowRef = at(DEFAULTS, 1.5e-3, 1.5e-3, TuningRecord.REFERENCE);
        TuningRecord slowRound = at("t=2", 1.2e-3, 1.5e-3, "xgb"); // 20 % faster than the default, slower in seconds
        WorkloadRecords w = new WorkloadRecords(List.of(def, fastRound, slowRef, slowRound), DEFAULTS);
        assertEquals(1.25e-3, w.level(), 1e-12, "the median of the default's two measurements");
        assertEquals(0.8 * w.level(), w.cost(slowRound), 1e-12);
        assertEquals(0.9 * w.level(), w.cost(fastRound), 1e-12);
        assertEquals(slowRound, w.best().orElseThrow());
        assertEquals(List.of(def, fastRound, slowRound), w.trials(), "references are not trials");
    }

    /** Timings that disagree are kept but never become the best; an old record without a reference counts as measured. */
    @Test
    void untrustedRecordsNeverWinAndRecordsWithoutAReferenceKeepTheirCost() {
        TuningRecord def = at(DEFAULTS, 1.0e-3, 1.0e-3, "xgb");
        TuningRecord noisy = new TuningRecord("x86_64-avx2", "mm", "matmul", "t=1", "", List.of(0.2e-3, 0.5e-3, 0.9e-3),
                ErrorCode.NONE, null, 2e6, Instant.parse("2026-01-01T00:00:00Z"), "0.2.0", "host/cpu", "xgb", 1, "run");
        TuningRecord old = new TuningRecord("x86_64-avx2", "mm", "matmul", "t=2", "", List.of(0.95e-3, 0.95e-3),
                ErrorCode.NONE, null, 2e6, Instant.parse("2025-01-01T00:00:00Z"), "0.1.0", "host/cpu", "xgb", 2, "old");
        WorkloadRecords w = new WorkloadRecords(List.of(def, noisy, old), DEFAULTS);
        assertTrue(noisy.relativeStandardError() > WorkloadRecords.TRUSTED_RSE);
        assertEquals(0.95e-3, w.cost(old), 1e-12);
        assertEquals(old, w.best().orElseThrow());
        assertEquals(2e6 / 0.95e-3 / 1e9, w.gflops(old), 1e-9);
    }

    /**
     * A config that won by one lucky timing and was slower when timed again counts at the median
     * of its timings, and the steady config beats it; the curve of the best so far rises where the
     * lucky one's confirmations came in.
     */
    @Test
    void aConfigCountsAtTheMedianOfItsTimings() {
        TuningRecord def = at(DEFAULTS, 1.0e-3, 1.0e-3, "xgb");
        TuningRecord steady = at("t=4", 0.85e-3, 1.0e-3, "xgb");
        TuningRecord lucky = at("t=2", 0.7e-3, 1.0e-3, "xgb");
        TuningRecord again1 = at("t=2", 0.95e-3, 1.0e-3, TuningRecord.CONFIRM);
        TuningRecord again2 = at("t=2", 0.9e-3, 1.0e-3, TuningRecord.CONFIRM);
        WorkloadRecords w = new WorkloadRecords(List.of(def, steady, lucky, again1, again2), DEFAULTS);
        assertEquals(0.9e-3, w.configCost("t=2"), 1e-12);
        assertEquals(steady, w.best().orElseThrow());
        double[] best = w.bestCosts();
        assertEquals(0.7e-3, best[2], 1e-12, "after the lucky timing alone");
        assertEquals(0.85e-3, best[4], 1e-12, "after its confirmations");
        assertEquals(List.of(def, steady, lucky), w.trials(), "confirmations are not trials");
        assertEquals(1.0e-3, best[0], 1e-12, "the default alone stands at its level");
    }
}
