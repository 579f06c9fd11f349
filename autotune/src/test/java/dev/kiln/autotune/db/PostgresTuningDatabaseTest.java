package dev.kiln.autotune.db;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static dev.kiln.autotune.db.Records.error;
import static dev.kiln.autotune.db.Records.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same SQL on a real PostgreSQL server. Runs only when KILN_TEST_POSTGRES_URL names one
 * (e.g. jdbc:postgresql://127.0.0.1:5432/tuning?user=kiln); works in a fresh schema it drops after.
 */
class PostgresTuningDatabaseTest {
    private static final String SERVER = System.getenv("KILN_TEST_POSTGRES_URL");

    @TempDir
    Path dir;
    private String schema;
    private String url;

    @BeforeEach
    void freshSchema() throws Exception {
        assumeTrue(SERVER != null && !SERVER.isBlank(), "KILN_TEST_POSTGRES_URL is not set");
        schema = "kiln_test_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection c = DriverManager.getConnection(SERVER); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema);
        }
        url = SERVER + (SERVER.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    @AfterEach
    void dropSchema() throws Exception {
        if (schema == null) return;
        try (Connection c = DriverManager.getConnection(SERVER); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA " + schema + " CASCADE");
        }
    }

    @Test
    void aNewerSchemaIsRefusedOnPostgresToo() throws Exception {
        TuningDatabase.open(url).close();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("UPDATE schema_version SET version = 99");
        }
        TuningDbException e = assertThrows(TuningDbException.class, () -> TuningDatabase.open(url));
        assertTrue(e.getMessage().contains("schema version 99"), e.getMessage());
    }

    @Test
    void recordsBestResumeRunsAndExchangeWorkOnPostgres() {
        List<TuningRecord> all = List.of(
                ok("x86_64-avx2", "mm", "t=4", 3e-3, 0),
                ok("x86_64-avx2", "mm", "t=8", 1e-3, 1),
                error("x86_64-avx2", "mm", "t=7", ErrorCode.TIMEOUT, 2),
                ok("x86_64-avx2", "mm", "t=16", 1e-3, 3),
                ok("x86_64-avx2", "conv", "t=2", 5e-3, 4),
                error("x86_64-avx2", "pool", "t=1", ErrorCode.CRASH, 5),
                ok("aarch64-neon", "mm", "t=1", 1e-6, 6));
        Path file = dir.resolve("pg.jsonl");
        try (TuningDatabase db = TuningDatabase.open(url)) {
            assertEquals(all.size(), db.appendAll(all));
            assertFalse(db.append(all.get(0)));
            assertEquals(all.subList(0, 4), db.records("x86_64-avx2", "mm"));
            assertEquals("t=16", db.best("x86_64-avx2", "mm").orElseThrow().config());
            Map<String, TuningRecord> best = db.bestPerWorkload("x86_64-avx2");
            assertEquals(Set.of("conv", "mm"), best.keySet());
            assertEquals(all.get(3), best.get("mm"));
            assertEquals(Set.of("t=4", "t=8", "t=7", "t=16"), db.measuredConfigs("x86_64-avx2", "mm"));
            assertEquals(7, db.count());
            List<RunSummary> runs = db.runs();  // one run, split by target
            assertEquals(List.of("x86_64-avx2", "aarch64-neon"), runs.stream().map(RunSummary::target).toList());
            RunSummary run = runs.getFirst();
            assertEquals(6, run.records());
            assertEquals(2, run.errors());
            assertEquals(3, run.workloads()); // avx2 mm, conv, pool
            assertEquals(7, db.export(file));
            assertEquals(new TuningDatabase.ImportStats(7, 0), db.importFrom(file));
        }
        try (TuningDatabase local = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("local.db"))) {
            assertEquals(new TuningDatabase.ImportStats(7, 7), local.importFrom(file));
            assertEquals(all.subList(0, 4), local.records("x86_64-avx2", "mm"));
        }
        try (TuningDatabase db = TuningDatabase.open(url)) {
            assertTrue(db.records("aarch64-neon", "mm").contains(all.get(6)));
        }
    }
}
