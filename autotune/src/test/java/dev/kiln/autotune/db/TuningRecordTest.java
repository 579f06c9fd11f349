package dev.kiln.autotune.db;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TuningRecordTest {
    private static TuningRecord with(List<Double> costs, ErrorCode code, double flops) {
        return new TuningRecord("x86_64-avx2", "mm", "mm", "t=1", "", costs, code, null, flops,
                Records.T0, "0.1.0", "host", "random", 0, "run");
    }

    @Test
    void meanCostAndGflopsFollowFromTheCosts() {
        TuningRecord r = with(List.of(1e-3, 3e-3), ErrorCode.NONE, 4e6);
        assertEquals(2e-3, r.meanCost(), 1e-18);
        assertEquals(4e6 / 2e-3 / 1e9, r.gflops(), 1e-12); // 2 GFLOP/s
        TuningRecord failed = with(List.of(), ErrorCode.TIMEOUT, 4e6);
        assertEquals(Double.POSITIVE_INFINITY, failed.meanCost());
        assertEquals(0, failed.gflops());
    }

    @Test
    void costsAndErrorCodeMustAgree() {
        var noCosts = assertThrows(IllegalArgumentException.class, () -> with(List.of(), ErrorCode.NONE, 1));
        assertTrue(noCosts.getMessage().contains("no costs and no error code"), noCosts.getMessage());
        var both = assertThrows(IllegalArgumentException.class, () -> with(List.of(1e-3), ErrorCode.CRASH, 1));
        assertTrue(both.getMessage().contains("error record carries no costs"), both.getMessage());
        assertThrows(IllegalArgumentException.class, () -> with(List.of(Double.NaN), ErrorCode.NONE, 1));
        assertThrows(IllegalArgumentException.class, () -> with(List.of(-1.0), ErrorCode.NONE, 1));
        assertThrows(IllegalArgumentException.class, () -> with(List.of(1.0), ErrorCode.NONE, Double.POSITIVE_INFINITY));
    }

    @Test
    void jsonRoundTripIsExactAndTheKeyTellsRecordsApart() {
        TuningRecord a = Records.ok("x86_64-avx2", "mm", "t=1,u=2", 1.0 / 3, 5);
        assertEquals(a, RecordJson.fromJson(RecordJson.toJson(a)));
        assertTrue(RecordJson.toJson(a).contains("\"config\":\"t=1,u=2\""), RecordJson.toJson(a));
        TuningRecord b = Records.ok("x86_64-avx2", "mm", "t=1,u=2", 1.0 / 3, 6);
        assertEquals(RecordJson.key(a), RecordJson.key(Records.ok("x86_64-avx2", "mm", "t=1,u=2", 1.0 / 3, 5)));
        assertTrue(!RecordJson.key(a).equals(RecordJson.key(b)));
    }
}
