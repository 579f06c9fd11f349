package dev.kiln.driver.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln db export/import/runs}: records move between databases, and importing twice adds nothing. */
class DbCommandTest {
    private static TuningRecord record(String config, double cost, String run) {
        return new TuningRecord("x86_64-avx512", "Conv-0123456789abcdef", "Conv 1x16x8x8", config, "split C.i0 4\n", List.of(cost, cost),
                ErrorCode.NONE, null, 1e6, Instant.parse("2026-11-23T10:00:00Z"), "0.1.0", "host/cpu", "random", 0, run);
    }

    @Test
    void exportImportAndRuns(@TempDir Path dir) throws Exception {
        String a = "jdbc:sqlite:" + dir.resolve("a.db"), b = "jdbc:sqlite:" + dir.resolve("b.db");
        try (TuningDatabase d = TuningDatabase.open(a)) {
            d.append(record("0.tile_cols=7", 1e-3, "run-1"));
            d.append(record("0.tile_cols=14", 2e-3, "run-1"));
        }
        Path file = dir.resolve("records.jsonl");
        var export = TuneEndToEndTest.kiln("db", "export", file.toString(), "--db", a);
        assertEquals(0, export.code(), export.err());
        assertTrue(export.out().contains("exported 2 records"), export.out());
        assertEquals(2, Files.readAllLines(file).size());
        var first = TuneEndToEndTest.kiln("db", "import", file.toString(), "--db", b);
        assertEquals(0, first.code(), first.err());
        assertTrue(first.out().contains("imported 2 of 2"), first.out());
        var again = TuneEndToEndTest.kiln("db", "import", file.toString(), "--db", b);
        assertTrue(again.out().contains("imported 0 of 2") && again.out().contains("2 were already there"), again.out());
        try (TuningDatabase d = TuningDatabase.open(b)) {
            assertEquals(2, d.count());
            assertEquals("0.tile_cols=7", d.best("x86_64-avx512", "Conv-0123456789abcdef").orElseThrow().config());
        }
        var runs = TuneEndToEndTest.kiln("db", "runs", "--db", b);
        assertTrue(runs.out().contains("run-1") && runs.out().contains("x86_64-avx512"), runs.out());
        var missing = TuneEndToEndTest.kiln("db", "import", dir.resolve("none.jsonl").toString(), "--db", b);
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no export file"), missing.err());
    }
}
