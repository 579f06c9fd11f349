package dev.kiln.autotune.db;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tuning databases as earlier Kilns left them, written with those Kilns' own SQL (from the git
 * history of TuningDatabase and RecordRows) and their rows as they stored them, for the migration
 * tests on SQLite and PostgreSQL. Add the schema here whenever {@link TuningDatabase#SCHEMA_VERSION}
 * moves past it: {@code everyEarlierVersionHasAFixture} fails until then.
 */
final class EarlierSchemas {
    /** The schema versions this class writes. */
    static final List<Integer> VERSIONS = List.of(1, 2);

    private EarlierSchemas() {
    }

    /** The fixture versions a migration test runs on (each at most the current version). */
    static IntStream versions() {
        return VERSIONS.stream().mapToInt(Integer::intValue).filter(v -> v <= TuningDatabase.SCHEMA_VERSION);
    }

    /** One row as an earlier Kiln stored it (its text forms verbatim) and the record it must read back as. */
    private record Row(String key, Double meanCost, String costs, String measuredAt, TuningRecord record) {}

    private static final Instant T = Instant.parse("2025-03-01T12:00:00.123456789Z");
    private static final String GEMM = "Gemm 1x1024 float32, 10x1024 float32";

    /** What version 1 wrote: records without measurement conditions or drift references. */
    private static final List<Row> VERSION_1 = List.of(
            new Row("30df9175b5a7bd2ab38db8d20357b008f667b857c3f750443750561591d140f0", 0.0015, "[0.001,0.002]",
                    "2025-03-01T12:00:00.123456789Z",
                    new TuningRecord("x86_64-avx2", "Gemm-807fda5cfff30428", GEMM, "tile_n=8,unroll=1", "split n 8\nvectorize ni",
                            List.of(0.001, 0.002), ErrorCode.NONE, null, 20480.0, T, "0.1.0", "host-a/AMD EPYC", "random", 0, "run-v1")),
            new Row("a999b08b574146c87de892a5bec47687e597a16daa7429abea3d5ad40bbf7346", null, "[]",
                    "2025-03-01T12:00:01.123456789Z",
                    new TuningRecord("x86_64-avx2", "Gemm-807fda5cfff30428", GEMM, "tile_n=3,unroll=0", "split n 3", List.of(),
                            ErrorCode.WRONG_ANSWER, "output 0 differs at [3]: 1.5 vs 'NaN'", 20480.0, T.plusSeconds(1), "0.1.0",
                            "host-a/AMD EPYC", "random", 1, "run-v1")),
            new Row("670475013c4a6bfcb81f9c672c68ef973555506764eba0938d6e14d05ab456f8", 61728.394500000504, "[1.0E-9,123456.789]",
                    "2024-12-31T23:59:59.000000001Z",
                    new TuningRecord("aarch64-neon:cortex-a72", "Conv-3f9a0c", "conv2d 1x3x224x224 → 64, «NCHW»", "tile_oc=16,tile_ow=7",
                            "split oc 16\n\tvectorize owi\n", List.of(1e-9, 123456.789), ErrorCode.NONE, "slow: \"quoted\"", 1.18e9,
                            Instant.parse("2024-12-31T23:59:59.000000001Z"), "0.1.0-SNAPSHOT", "pi5/Cortex-A76", "grid",
                            7_000_000_000L, "run-ü")));

    /** What version 2 added: a trial with its conditions and drift reference, and the reference itself. */
    private static final List<Row> VERSION_2_MORE = List.of(
            new Row("e4236cef22461c118b0beab8b83f7b52f51576c30624930e22abf4e71fa39e09", 0.0012, "[0.0012]",
                    "2025-03-01T12:00:59.123456789Z",
                    new TuningRecord("x86_64-avx2", "Gemm-807fda5cfff30428", GEMM, "tile_n=16,unroll=1", "split n 16", List.of(0.0012),
                            ErrorCode.NONE, null, 20480.0, T.plusSeconds(59), "0.2.0", "host-a/AMD EPYC", TuningRecord.REFERENCE, 3,
                            "run-v2", "threads=1,cache=warm", 0.0012)),
            new Row("ba92ea8a50edcd1bfa7bb5a49c312be7e557de0250157fe3ed5777d2f0a5c97b", 0.001, "[9.0E-4,0.0011,0.001]",
                    "2025-03-01T12:01:00.123456789Z",
                    new TuningRecord("x86_64-avx2", "Gemm-807fda5cfff30428", GEMM, "tile_n=32,unroll=2", "split n 32\nunroll ni 2",
                            List.of(0.0009, 0.0011, 0.001), ErrorCode.NONE, null, 20480.0, T.plusSeconds(60), "0.2.0",
                            "host-a/AMD EPYC", "xgb", 3, "run-v2", "threads=1,cache=warm", 0.0012)));

    /**
     * Writes into the empty database at {@code url} the tables of schema {@code version} and rows
     * as that version stored them; returns the records they hold, in insertion order.
     */
    static List<TuningRecord> write(String url, int version) throws SQLException {
        boolean postgres = url.startsWith("jdbc:postgresql:");
        String id = postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
        String columns = "target, workload_key, workload_desc, config, trace, costs, error_code, error_message, flops, "
                + "measured_at, kiln_version, device_key, tuner, trial, run_id";
        String table = "CREATE TABLE IF NOT EXISTS tuning_records (id " + id + ", record_key TEXT NOT NULL UNIQUE, "
                + "target TEXT NOT NULL, workload_key TEXT NOT NULL, workload_desc TEXT NOT NULL, config TEXT NOT NULL, "
                + "trace TEXT NOT NULL, costs TEXT NOT NULL, mean_cost DOUBLE PRECISION, error_code TEXT NOT NULL, "
                + "error_message TEXT, flops DOUBLE PRECISION NOT NULL, measured_at TEXT NOT NULL, kiln_version TEXT NOT NULL, "
                + "device_key TEXT NOT NULL, tuner TEXT NOT NULL, trial BIGINT NOT NULL, run_id TEXT NOT NULL";
        List<Row> rows = new ArrayList<>(VERSION_1);
        switch (version) {
            case 1 -> table += ")";
            case 2 -> {
                table += ", conditions TEXT NOT NULL DEFAULT '', reference_cost DOUBLE PRECISION NOT NULL DEFAULT 0)";
                columns += ", conditions, reference_cost";
                rows.addAll(VERSION_2_MORE);
            }
            default -> throw new IllegalArgumentException("no fixture of schema version " + version);
        }
        int params = columns.split(",").length + 2;
        String insert = "INSERT INTO tuning_records (record_key, mean_cost, " + columns + ") VALUES ("
                + String.join(", ", java.util.Collections.nCopies(params, "?")) + ") ON CONFLICT (record_key) DO NOTHING";
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
            s.execute(table);
            s.execute("CREATE INDEX IF NOT EXISTS tuning_records_workload ON tuning_records (target, workload_key)");
            s.execute("CREATE INDEX IF NOT EXISTS tuning_records_run ON tuning_records (run_id)");
            s.execute("INSERT INTO schema_version (version) VALUES (" + version + ")");
            try (PreparedStatement ps = c.prepareStatement(insert)) {
                for (Row row : rows) {
                    TuningRecord r = row.record();
                    int i = 1;
                    ps.setString(i++, row.key());
                    if (row.meanCost() == null) ps.setNull(i++, Types.DOUBLE);
                    else ps.setDouble(i++, row.meanCost());
                    ps.setString(i++, r.target());
                    ps.setString(i++, r.workloadKey());
                    ps.setString(i++, r.workloadDesc());
                    ps.setString(i++, r.config());
                    ps.setString(i++, r.trace());
                    ps.setString(i++, row.costs());
                    ps.setString(i++, r.errorCode().name());
                    ps.setString(i++, r.errorMessage());
                    ps.setDouble(i++, r.flops());
                    ps.setString(i++, row.measuredAt());
                    ps.setString(i++, r.kilnVersion());
                    ps.setString(i++, r.deviceKey());
                    ps.setString(i++, r.tuner());
                    ps.setLong(i++, r.trial());
                    ps.setString(i++, r.runId());
                    if (version >= 2) {
                        ps.setString(i++, r.conditions());
                        ps.setDouble(i, r.referenceCost());
                    }
                    assertEquals(1, ps.executeUpdate());
                }
            }
        }
        return rows.stream().map(Row::record).toList();
    }

    /**
     * The migration contract, for a database of schema {@code version} written at {@code url} (empty
     * before): opening it with this Kiln keeps every record with all its fields, brings it to
     * {@link TuningDatabase#SCHEMA_VERSION} with the same tables and columns as a new database (made
     * at {@code freshUrl}), still knows its records (appending one again adds nothing), takes new
     * ones, and a second open changes nothing.
     */
    static void assertMigrates(int version, String url, String freshUrl) throws SQLException {
        List<TuningRecord> old = write(url, version);
        TuningRecord now = new TuningRecord("x86_64-avx2", "Gemm-807fda5cfff30428", GEMM, "tile_n=64,unroll=4", "split n 64",
                List.of(8e-4, 8.5e-4), ErrorCode.NONE, null, 20480.0, Instant.parse("2026-06-01T00:00:00Z"), "0.3.0",
                "host-a/AMD EPYC", "xgb", 4, "run-now", "threads=2,cache=cold", 1.1e-3);
        try (TuningDatabase db = TuningDatabase.open(url)) {
            assertEquals(old, db.all(), "records of a version-" + version + " database, read by this Kiln");
            for (TuningRecord r : old)
                assertFalse(db.append(r), "a version-" + version + " record appended again was taken for a new one: " + r);
            assertTrue(db.append(now));
            List<TuningRecord> all = new ArrayList<>(old);
            all.add(now);
            assertEquals(all, db.all());
            assertEquals(now, db.best("x86_64-avx2", "Gemm-807fda5cfff30428").orElseThrow());
        }
        Schema migrated = Schema.of(url);
        assertEquals(TuningDatabase.SCHEMA_VERSION, migrated.version(), "schema version after opening a version-" + version + " database");
        TuningDatabase.open(freshUrl).close();
        assertEquals(Schema.of(freshUrl).columns(), migrated.columns(),
                "tables and columns of a database migrated from version " + version + " and of a new one");
        TuningDatabase.open(url).close();
        assertEquals(migrated, Schema.of(url), "a second open of a migrated database changed it");
    }

    /**
     * What a migration changes: each table's columns (name to type and nullability), the rows of
     * schema_version, and the number of records.
     */
    record Schema(Map<String, Set<String>> columns, List<Integer> versionRows, long records) {
        int version() {
            return versionRows.stream().mapToInt(Integer::intValue).max().orElse(0);
        }

        static Schema of(String url) throws SQLException {
            try (Connection c = DriverManager.getConnection(url)) {
                DatabaseMetaData meta = c.getMetaData();
                String schema = c.getSchema(); // PostgreSQL: only the test's own schema; SQLite: none
                Map<String, Set<String>> columns = new TreeMap<>();
                try (ResultSet rs = meta.getColumns(null, schema, "%", "%")) {
                    while (rs.next())
                        columns.computeIfAbsent(rs.getString("TABLE_NAME"), t -> new TreeSet<>())
                                .add(rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME").toLowerCase()
                                        + (rs.getInt("NULLABLE") == DatabaseMetaData.columnNoNulls ? " not null" : ""));
                }
                List<Integer> versions = new ArrayList<>();
                long records;
                try (Statement s = c.createStatement()) {
                    try (ResultSet rs = s.executeQuery("SELECT version FROM schema_version ORDER BY version")) {
                        while (rs.next()) versions.add(rs.getInt(1));
                    }
                    try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM tuning_records")) {
                        rs.next();
                        records = rs.getLong(1);
                    }
                }
                return new Schema(columns, versions, records);
            }
        }
    }
}
