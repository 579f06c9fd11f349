package dev.kiln.autotune.db;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static dev.kiln.autotune.db.Records.error;
import static dev.kiln.autotune.db.Records.ok;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TuningDatabaseTest {
    @TempDir
    Path dir;

    private String url(String name) {
        return "jdbc:sqlite:" + dir.resolve(name);
    }

    @Test
    void everyFieldSurvivesTheDatabase() {
        TuningRecord awkward = new TuningRecord("aarch64-neon", "conv2d-3f9a0c", "conv2d 1x3x224x224 → 64, «NCHW»",
                "tile_oc=16,tile_ow=7,unroll=1", "split oc 16\nsplit ow 7\n\tvectorize owi\n",
                List.of(0.1, 1e-9, Double.MIN_VALUE, 123456.789), ErrorCode.NONE, "slow: 'quoted' \"text\"",
                1.18e9, Instant.parse("2024-12-31T23:59:59.000000001Z"), "0.1.0-SNAPSHOT", "pi5/Cortex-A76",
                "xgb", 7_000_000_000L, "run-ü");
        TuningRecord failed = error("aarch64-neon", "conv2d-3f9a0c", "tile_oc=3", ErrorCode.WRONG_ANSWER, 8);
        try (TuningDatabase db = TuningDatabase.open(url("t.db"))) {
            assertTrue(db.append(awkward));
            assertTrue(db.append(failed));
        }
        try (TuningDatabase db = TuningDatabase.open(url("t.db"))) {
            assertEquals(List.of(awkward, failed), db.records("aarch64-neon", "conv2d-3f9a0c"));
            assertEquals(List.of(), db.records("x86_64-avx2", "conv2d-3f9a0c"));
        }
    }

    @Test
    void appendingAnIdenticalRecordAddsNothing() {
        try (TuningDatabase db = TuningDatabase.open(url("t.db"))) {
            TuningRecord r = ok("x86_64-avx2", "mm", "t=8", 1e-3, 0);
            assertTrue(db.append(r));
            assertFalse(db.append(r));
            assertEquals(1, db.count());
            assertEquals(1, db.appendAll(List.of(r, ok("x86_64-avx2", "mm", "t=8", 1e-3, 1))));
            assertEquals(2, db.count("x86_64-avx2", "mm"));
        }
    }

    @Test
    void bestIsTheLowestMeanCostAmongErrorFreeRecordsAndTheNewestOnATie() {
        List<TuningRecord> all = List.of(
                ok("x86_64-avx2", "mm", "t=4", 3e-3, 0),
                ok("x86_64-avx2", "mm", "t=8", 1e-3, 1),
                error("x86_64-avx2", "mm", "t=7", ErrorCode.TIMEOUT, 2),
                ok("x86_64-avx2", "mm", "t=16", 1e-3, 3),    // ties with t=8, newer
                ok("x86_64-avx2", "mm", "t=32", 2e-3, 4),
                ok("x86_64-avx512", "mm", "t=64", 1e-6, 5),  // other target: never the answer for avx2
                error("x86_64-avx2", "mm", "t=5", ErrorCode.CRASH, 6));
        try (TuningDatabase db = TuningDatabase.open(url("t.db"))) {
            db.appendAll(all);
            TuningRecord best = db.best("x86_64-avx2", "mm").orElseThrow();
            assertEquals("t=16", best.config());
            assertEquals(bestByHand(all, "x86_64-avx2", "mm"), Optional.of(best));
            assertEquals(Optional.empty(), db.best("x86_64-avx2", "other"));
        }
    }

    @Test
    void bestPerWorkloadMatchesBestOfEachAndSkipsWorkloadsWithOnlyErrors() {
        Random random = new Random(42);
        List<TuningRecord> all = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            String target = i % 5 == 0 ? "aarch64-neon" : "x86_64-avx2";
            String workload = "wl-" + random.nextInt(6);
            String config = "t=" + random.nextInt(8);
            all.add(random.nextInt(4) == 0
                    ? error(target, workload, config, ErrorCode.BUILD_ERROR, i)
                    : ok(target, workload, config, (1 + random.nextInt(5)) * 1e-4, i));
        }
        all.add(error("x86_64-avx2", "only-errors", "t=1", ErrorCode.RUN_ERROR, 200));
        try (TuningDatabase db = TuningDatabase.open(url("t.db"))) {
            db.appendAll(all);
            Map<String, TuningRecord> expected = new TreeMap<>();
            for (TuningRecord r : all)
                if (r.target().equals("x86_64-avx2"))
                    bestByHand(all, "x86_64-avx2", r.workloadKey()).ifPresent(b -> expected.put(b.workloadKey(), b));
            Map<String, TuningRecord> got = db.bestPerWorkload("x86_64-avx2");
            assertEquals(expected, got);
            assertEquals(List.copyOf(expected.keySet()), List.copyOf(got.keySet()));
            assertFalse(got.containsKey("only-errors"));
            for (String w : got.keySet()) assertEquals(db.best("x86_64-avx2", w).orElseThrow(), got.get(w));
        }
    }

    /** The reference for best(): a plain scan, independent of the SQL. */
    private static Optional<TuningRecord> bestByHand(List<TuningRecord> all, String target, String workload) {
        TuningRecord best = null;
        for (TuningRecord r : all) {
            if (!r.ok() || !r.target().equals(target) || !r.workloadKey().equals(workload)) continue;
            if (best == null || r.meanCost() < best.meanCost()
                    || r.meanCost() == best.meanCost() && !r.timestamp().isBefore(best.timestamp()))
                best = r;
        }
        return Optional.ofNullable(best);
    }

    @Test
    void measuredConfigsIncludeErrorsAndOnlyThatWorkload() {
        try (TuningDatabase db = TuningDatabase.open(url("t.db"))) {
            db.append(ok("x86_64-avx2", "mm", "t=4", 3e-3, 0));
            db.append(error("x86_64-avx2", "mm", "t=7", ErrorCode.CRASH, 1));
            db.append(ok("x86_64-avx2", "mm", "t=4", 2e-3, 2));
            db.append(ok("x86_64-avx2", "conv", "t=9", 2e-3, 3));
            db.append(ok("aarch64-neon", "mm", "t=9", 2e-3, 4));
            assertEquals(Set.of("t=4", "t=7"), db.measuredConfigs("x86_64-avx2", "mm"));
            assertEquals(Set.of(), db.measuredConfigs("x86_64-avx2", "nothing"));
            assertEquals(3, db.count("x86_64-avx2", "mm"));
            assertEquals(5, db.count());
        }
    }

    @Test
    void runsSummariseEachTuneInvocation() {
        Instant t = Instant.parse("2025-01-01T00:00:00Z");
        try (TuningDatabase db = TuningDatabase.open(url("t.db"))) {
            db.append(Records.withRun(ok("x86_64-avx2", "mm", "t=1", 1e-3, 0), "run-a", t));
            db.append(Records.withRun(error("x86_64-avx2", "conv", "t=2", ErrorCode.TIMEOUT, 1), "run-a", t.plusSeconds(5)));
            db.append(Records.withRun(ok("x86_64-avx2", "mm", "t=3", 1e-3, 2), "run-a", t.plusSeconds(9)));
            db.append(Records.withRun(ok("x86_64-avx2", "mm", "t=4", 1e-3, 0), "run-b", t.plusSeconds(60)));
            List<RunSummary> runs = db.runs();
            assertEquals(List.of(
                    new RunSummary("run-a", "x86_64-avx2", "random", "host-a/Intel Xeon 8480", "0.1.0",
                            2, 3, 1, t, t.plusSeconds(9), Provenance.NONE),
                    new RunSummary("run-b", "x86_64-avx2", "random", "host-a/Intel Xeon 8480", "0.1.0",
                            1, 1, 0, t.plusSeconds(60), t.plusSeconds(60), Provenance.NONE)), runs);
        }
    }

    @Test
    void exportThenImportIntoAFreshDatabaseGivesTheSameRecordsAndTwiceAddsNothing() throws Exception {
        List<TuningRecord> all = new ArrayList<>();
        for (int i = 0; i < 20; i++)
            all.add(i % 3 == 0 ? error("x86_64-avx2", "wl-" + i % 4, "t=" + i, ErrorCode.RUN_ERROR, i)
                    : ok(i % 2 == 0 ? "x86_64-avx2" : "aarch64-neon", "wl-" + i % 4, "t=" + i, i * 1e-4, i));
        Path file = dir.resolve("records.jsonl");
        Path again = dir.resolve("again.jsonl");
        try (TuningDatabase src = TuningDatabase.open(url("src.db"));
             TuningDatabase dst = TuningDatabase.open(url("dst.db"))) {
            src.appendAll(all);
            assertEquals(20, src.export(file));
            assertEquals(20, Files.readAllLines(file).size());
            assertEquals(new TuningDatabase.ImportStats(20, 20), dst.importFrom(file));
            for (TuningRecord r : all)
                assertEquals(src.records(r.target(), r.workloadKey()), dst.records(r.target(), r.workloadKey()));
            dst.export(again);
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(again));

            assertEquals(new TuningDatabase.ImportStats(20, 0), dst.importFrom(file));
            assertEquals(new TuningDatabase.ImportStats(20, 0), src.importFrom(again));
            assertEquals(20, dst.count());
            assertEquals(20, src.count());
        }
        assertFalse(Files.exists(dir.resolve("records.jsonl.part")));
    }

    @Test
    void aBadLineFailsTheWholeImportNamingFileAndLine() throws Exception {
        Path file = dir.resolve("bad.jsonl");
        Path good = dir.resolve("good.jsonl");
        try (TuningDatabase db = TuningDatabase.open(url("src.db"))) {
            db.append(ok("x86_64-avx2", "mm", "t=1", 1e-3, 0));
            db.export(good);
        }
        String line = Files.readString(good).strip();
        Files.writeString(file, line + "\n\n" + line.replace("\"NONE\"", "\"MELTED\"") + "\n");
        try (TuningDatabase db = TuningDatabase.open(url("dst.db"))) {
            TuningDbException e = assertThrows(TuningDbException.class, () -> db.importFrom(file));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("line 3"), e.getMessage());
            assertTrue(e.getMessage().contains("MELTED"), e.getMessage());
            assertEquals(0, db.count());
        }
    }

    @Test
    void aCorruptFileIsReportedByNameAndLeftUntouched() throws Exception {
        Path file = dir.resolve("corrupt.db");
        byte[] garbage = new byte[8192];
        new Random(1).nextBytes(garbage);
        Files.write(file, garbage);
        TuningDbException e = assertThrows(TuningDbException.class, () -> TuningDatabase.open("jdbc:sqlite:" + file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not an SQLite database or is corrupt"), e.getMessage());
        assertArrayEquals(garbage, Files.readAllBytes(file));
    }

    @Test
    void anSqliteFileOfSomethingElseIsLeftAlone() throws Exception {
        Path file = dir.resolve("other.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE invoices (id INTEGER)");
        }
        TuningDbException e = assertThrows(TuningDbException.class, () -> TuningDatabase.open("jdbc:sqlite:" + file));
        assertTrue(e.getMessage().contains("not a Kiln tuning database"), e.getMessage());
        assertEquals(Set.of("invoices"), tables(file));
    }

    @Test
    void aNewerSchemaIsRefused() throws Exception {
        Path file = dir.resolve("future.db");
        TuningDatabase.open("jdbc:sqlite:" + file).close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("UPDATE schema_version SET version = " + (TuningDatabase.SCHEMA_VERSION + 1));
        }
        TuningDbException e = assertThrows(TuningDbException.class, () -> TuningDatabase.open("jdbc:sqlite:" + file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("schema version " + (TuningDatabase.SCHEMA_VERSION + 1)), e.getMessage());
        assertTrue(e.getMessage().contains("Upgrade Kiln"), e.getMessage());
    }

    @Test
    void aMissingDirectoryIsNamed() {
        Path file = dir.resolve("no/such/dir/t.db");
        TuningDbException e = assertThrows(TuningDbException.class, () -> TuningDatabase.open("jdbc:sqlite:" + file));
        assertTrue(e.getMessage().contains(dir.resolve("no/such/dir").toString()), e.getMessage());
        assertFalse(Files.exists(dir.resolve("no")));
    }

    @Test
    void theDefaultIsTuningDbInDotKilnUnderTheHomeDirectory() {
        String home = System.getProperty("user.home");
        System.setProperty("user.home", dir.toString());
        try {
            assertEquals("jdbc:sqlite:" + dir.resolve(".kiln/tuning.db"), TuningDatabase.defaultUrl());
            try (TuningDatabase db = TuningDatabase.open(null)) {
                db.append(ok("x86_64-avx2", "mm", "t=1", 1e-3, 0));
            }
            assertTrue(Files.isRegularFile(dir.resolve(".kiln/tuning.db")));
            try (TuningDatabase db = TuningDatabase.open("")) {
                assertEquals(1, db.count());
            }
        } finally {
            System.setProperty("user.home", home);
        }
    }

    @Test
    void anUnsupportedUrlSaysWhichAreSupported() {
        TuningDbException e = assertThrows(TuningDbException.class,
                () -> TuningDatabase.open("jdbc:mysql://db/kiln?password=hunter2"));
        assertTrue(e.getMessage().contains("jdbc:sqlite:FILE"), e.getMessage());
        assertTrue(e.getMessage().contains("jdbc:postgresql://"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    }

    @Test
    void anUnreachablePostgresServerFailsFastNamingTheUrl() {
        String url = "jdbc:postgresql://127.0.0.1:1/nodb?user=kiln&password=hunter2";
        long start = System.nanoTime();
        TuningDbException e = assertThrows(TuningDbException.class, () -> TuningDatabase.open(url));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < Dialect.CONNECT_TIMEOUT_S + 5, "took " + seconds + " s");
        assertTrue(e.getMessage().contains("jdbc:postgresql://127.0.0.1:1/nodb"), e.getMessage());
        assertTrue(e.getMessage().contains("PostgreSQL server is running"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    }

    private static Set<String> tables(Path file) throws Exception {
        Set<String> names = new LinkedHashSet<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'")) {
            while (rs.next()) names.add(rs.getString(1));
        }
        return names;
    }


    /**
     * A database of schema version 1 (as Kilns before drift references wrote it) opens: it is
     * brought to version 2 in place, its records read back unchanged (no conditions, no reference),
     * and records with both can be appended to it.
     */
    @Test
    void aVersion1DatabaseIsMigratedKeepingItsRecords() throws Exception {
        Path file = dir.resolve("v1.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)");
            s.execute("INSERT INTO schema_version (version) VALUES (1)");
            s.execute("CREATE TABLE tuning_records (id INTEGER PRIMARY KEY AUTOINCREMENT, record_key TEXT NOT NULL UNIQUE, "
                    + "target TEXT NOT NULL, workload_key TEXT NOT NULL, workload_desc TEXT NOT NULL, config TEXT NOT NULL, "
                    + "trace TEXT NOT NULL, costs TEXT NOT NULL, mean_cost DOUBLE PRECISION, error_code TEXT NOT NULL, "
                    + "error_message TEXT, flops DOUBLE PRECISION NOT NULL, measured_at TEXT NOT NULL, kiln_version TEXT NOT NULL, "
                    + "device_key TEXT NOT NULL, tuner TEXT NOT NULL, trial BIGINT NOT NULL, run_id TEXT NOT NULL)");
            s.execute("INSERT INTO tuning_records (record_key, target, workload_key, workload_desc, config, trace, costs, mean_cost, "
                    + "error_code, error_message, flops, measured_at, kiln_version, device_key, tuner, trial, run_id) VALUES "
                    + "('k1', 'x86_64-avx2', 'mm', 'matmul', 't=8', 'split i 8', '[0.001,0.002]', 0.0015, 'NONE', NULL, 524288.0, "
                    + "'2025-03-01T12:00:00.123456789Z', '0.1.0', 'host-a/cpu', 'xgb', 0, 'run-0')");
        }
        TuningRecord measuredNow = new TuningRecord("x86_64-avx2", "mm", "matmul", "t=4", "split i 4", List.of(1e-3, 1.01e-3),
                ErrorCode.NONE, null, 524288.0, Instant.parse("2026-01-01T00:00:00Z"), "0.2.0", "host-a/cpu", "xgb", 1, "run-1",
                "threads=1,cache=model", 1.1e-3);
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + file)) {
            List<TuningRecord> old = db.records("x86_64-avx2", "mm");
            assertEquals(1, old.size());
            assertEquals("t=8", old.get(0).config());
            assertEquals(List.of(0.001, 0.002), old.get(0).costsSeconds());
            assertEquals("", old.get(0).conditions());
            assertEquals(0, old.get(0).referenceCost());
            assertTrue(db.append(measuredNow));
        }
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + file);
             Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT MAX(version) FROM schema_version")) {
            assertEquals(TuningDatabase.SCHEMA_VERSION, rs.getInt(1));
            assertEquals(measuredNow, db.records("x86_64-avx2", "mm").get(1));
        }
    }

    /**
     * The JSON line of a record without conditions or a reference is the one older Kilns wrote (so
     * its duplicate key is unchanged and re-importing an old export adds nothing); with them, both
     * survive an export and an import.
     */
    @Test
    void conditionsAndReferencesTravelInExportsAndOldLinesStayTheSame() {
        TuningRecord old = ok("x86_64-avx2", "mm", "t=8", 1e-3, 0);
        String line = RecordJson.toJson(old);
        assertFalse(line.contains("conditions") || line.contains("referenceCost"), line);
        TuningRecord now = old.withReferenceCost(2e-3);
        now = new TuningRecord(now.target(), now.workloadKey(), now.workloadDesc(), now.config(), now.trace(), now.costsSeconds(),
                now.errorCode(), now.errorMessage(), now.flops(), now.timestamp(), now.kilnVersion(), now.deviceKey(), now.tuner(),
                now.trial(), now.runId(), "threads=2,cache=cold", now.referenceCost());
        assertEquals(now, RecordJson.fromJson(RecordJson.toJson(now)));
        assertEquals(old, RecordJson.fromJson(line));
        assertFalse(RecordJson.key(old).equals(RecordJson.key(now)));
    }
}
