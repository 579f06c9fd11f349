package dev.kiln.autotune.db;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The tuning database: every measurement as a {@link TuningRecord}, appended and committed as it
 * happens, in an embedded SQLite file (default {@code ~/.kiln/tuning.db}) or a shared PostgreSQL
 * server. A killed tune loses no committed record, and {@link #measuredConfigs} lets the next one
 * resume. Records export to and import from JSON Lines, so a team can share what one board learned.
 *
 * <p>One connection, used by one thread at a time (methods are synchronized); several processes
 * may append to one SQLite file at once.
 */
public final class TuningDatabase implements AutoCloseable {
    /** The schema this code reads and writes; a database with a newer one is refused. */
    public static final int SCHEMA_VERSION = 3;

    /** The columns schema 3 added to tuning_records, as CREATE TABLE and ALTER TABLE take them. */
    private static final String PROVENANCE_COLUMNS = "llvm_version TEXT NOT NULL DEFAULT '', "
            + "device_model TEXT NOT NULL DEFAULT '', device_features TEXT NOT NULL DEFAULT '', run_trials BIGINT NOT NULL DEFAULT 0";
    /** The PostgreSQL advisory lock that serializes creating and migrating the schema. */
    private static final long SCHEMA_LOCK = 0x6b696c6e5f736368L; // "kiln_sch"

    // Among equally fast records the newest wins; id breaks ties between identical times.
    private static final String BEST_ORDER = "mean_cost ASC, measured_at DESC, id DESC";

    /** How long a PostgreSQL database that went away (a restart, a network cut) is waited for before a call fails. */
    static final long RECONNECT_MS = 120_000;

    private Connection conn;
    private final String where;
    private final String url;
    private final Dialect dialect;

    private TuningDatabase(Connection conn, String where, String url, Dialect dialect) {
        this.conn = conn;
        this.where = where;
        this.url = url;
        this.dialect = dialect;
    }

    /** The default database URL: {@code jdbc:sqlite:} plus {@code ~/.kiln/tuning.db}. */
    public static String defaultUrl() {
        return "jdbc:sqlite:" + Path.of(System.getProperty("user.home"), ".kiln", "tuning.db");
    }

    /**
     * Opens (creating if needed) the tuning database at a JDBC URL, {@code jdbc:sqlite:FILE} or
     * {@code jdbc:postgresql://HOST[:PORT]/DB}; null or empty opens {@link #defaultUrl()}, creating
     * {@code ~/.kiln}. Throws {@link TuningDbException} with a message for the user on any failure.
     */
    public static TuningDatabase open(String jdbcUrl) {
        String url = jdbcUrl == null || jdbcUrl.isBlank() ? defaultUrl() : jdbcUrl.strip();
        if (jdbcUrl == null || jdbcUrl.isBlank()) {
            Path dir = Path.of(System.getProperty("user.home"), ".kiln");
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new TuningDbException("cannot create " + dir + " for the default tuning database: " + e
                        + ". Make it writable, or choose another database with --db jdbc:sqlite:FILE.", e);
            }
        }
        Dialect dialect = Dialect.of(url);
        Path file = dialect == Dialect.SQLITE ? Dialect.sqliteFile(url) : null;
        String where = file != null ? file.toString() : Dialect.redact(url);
        Connection conn = dialect.connect(url);
        try {
            TuningDatabase db = new TuningDatabase(conn, where, url, dialect);
            db.createSchema(dialect);
            return db;
        } catch (RuntimeException e) {
            Dialect.closeQuietly(conn);
            throw e;
        }
    }

    /** Creates the tables in a new database; checks the version of an existing one before touching it. */
    private void createSchema(Dialect dialect) {
        try {
            if (dialect == Dialect.SQLITE) refuseForeignSqlite();
            inTransaction(() -> {
                try (Statement s = conn.createStatement()) {
                    // Tuners started together on a new PostgreSQL database would race to create the same tables.
                    if (dialect == Dialect.POSTGRES) s.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
                    s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
                    int version = 0;
                    try (ResultSet rs = s.executeQuery("SELECT MAX(version) FROM schema_version")) {
                        if (rs.next()) version = rs.getInt(1); // 0 when the table is empty
                    }
                    if (version > SCHEMA_VERSION)
                        throw new TuningDbException("tuning database " + where + " has schema version " + version
                                + ", newer than the version " + SCHEMA_VERSION + " this Kiln understands. "
                                + "Upgrade Kiln, or choose another database with --db.");
                    if (version == SCHEMA_VERSION) return null;
                    s.execute("CREATE TABLE IF NOT EXISTS tuning_records ("
                            + "id " + dialect.idColumn + ", "
                            + "record_key TEXT NOT NULL UNIQUE, "
                            + "target TEXT NOT NULL, workload_key TEXT NOT NULL, workload_desc TEXT NOT NULL, "
                            + "config TEXT NOT NULL, trace TEXT NOT NULL, "
                            + "costs TEXT NOT NULL, mean_cost DOUBLE PRECISION, "
                            + "error_code TEXT NOT NULL, error_message TEXT, flops DOUBLE PRECISION NOT NULL, "
                            + "measured_at TEXT NOT NULL, kiln_version TEXT NOT NULL, device_key TEXT NOT NULL, "
                            + "tuner TEXT NOT NULL, trial BIGINT NOT NULL, run_id TEXT NOT NULL, "
                            + "conditions TEXT NOT NULL DEFAULT '', reference_cost DOUBLE PRECISION NOT NULL DEFAULT 0, "
                            + PROVENANCE_COLUMNS + ")");
                    s.execute("CREATE INDEX IF NOT EXISTS tuning_records_workload "
                            + "ON tuning_records (target, workload_key)");
                    s.execute("CREATE INDEX IF NOT EXISTS tuning_records_run ON tuning_records (run_id)");
                    // Version 1 to 2: how each record was measured, and its drift reference (older records have neither).
                    if (version == 1) {
                        s.execute("ALTER TABLE tuning_records ADD COLUMN conditions TEXT NOT NULL DEFAULT ''");
                        s.execute("ALTER TABLE tuning_records ADD COLUMN reference_cost DOUBLE PRECISION NOT NULL DEFAULT 0");
                    }
                    // Version 2 to 3: each record's provenance (older records have none), the workloads' canonical
                    // forms (what a pack needs to check a config against today's space), the packs pulled.
                    if (version >= 1 && version < 3)
                        for (String column : PROVENANCE_COLUMNS.split(", "))
                            s.execute("ALTER TABLE tuning_records ADD COLUMN " + column);
                    s.execute("CREATE TABLE IF NOT EXISTS workloads (target TEXT NOT NULL, workload_key TEXT NOT NULL, "
                            + "canonical TEXT NOT NULL, PRIMARY KEY (target, workload_key))");
                    s.execute("CREATE TABLE IF NOT EXISTS pulls (source TEXT PRIMARY KEY, etag TEXT NOT NULL, "
                            + "pulled_at TEXT NOT NULL)");
                    s.execute("INSERT INTO schema_version (version) VALUES (" + SCHEMA_VERSION + ")");
                }
                return null;
            });
        } catch (SQLException e) {
            throw failure("prepare", e);
        }
    }

    /** An SQLite file that holds other tables but no schema_version belongs to someone else: leave it. */
    private void refuseForeignSqlite() throws SQLException {
        List<String> tables = new ArrayList<>();
        try (Statement s = conn.createStatement();
             ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'")) {
            while (rs.next()) tables.add(rs.getString(1));
        }
        if (!tables.isEmpty() && !tables.contains("schema_version"))
            throw new TuningDbException("tuning database " + where + " is an SQLite database but not a Kiln "
                    + "tuning database (it has tables " + tables + " and no schema_version). Kiln left it "
                    + "untouched: choose another file with --db jdbc:sqlite:FILE.");
    }

    /**
     * Appends one record and commits it before returning. Returns false if an identical record
     * (every field equal) is already there, which is then left as it is.
     */
    public synchronized boolean append(TuningRecord record) {
        return io("append a record to", () -> {
            try (PreparedStatement ps = conn.prepareStatement(RecordRows.INSERT)) {
                RecordRows.bind(ps, record);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Appends all records in one transaction: all of them are committed or none. Returns how many were new. */
    public synchronized long appendAll(List<TuningRecord> records) {
        return importAll(records, Map.of());
    }

    /** Every record, oldest first. */
    public synchronized List<TuningRecord> all() {
        return query("SELECT " + RecordRows.COLUMNS + " FROM tuning_records ORDER BY id");
    }

    /** Every record of a workload on a target, oldest first. */
    public synchronized List<TuningRecord> records(String target, String workloadKey) {
        return query("SELECT " + RecordRows.COLUMNS + " FROM tuning_records WHERE target = ? AND workload_key = ? "
                + "ORDER BY id", target, workloadKey);
    }

    /** The error-free record with the lowest mean cost; among equal costs the newest. */
    public synchronized Optional<TuningRecord> best(String target, String workloadKey) {
        List<TuningRecord> rs = query("SELECT " + RecordRows.COLUMNS + " FROM tuning_records "
                + "WHERE target = ? AND workload_key = ? AND error_code = 'NONE' "
                + "ORDER BY " + BEST_ORDER + " LIMIT 1", target, workloadKey);
        return rs.stream().findFirst();
    }

    /** {@link #best} of every workload measured on a target, keyed and sorted by workload key. */
    public synchronized Map<String, TuningRecord> bestPerWorkload(String target) {
        List<TuningRecord> rs = query("SELECT " + RecordRows.COLUMNS + " FROM ("
                + "SELECT *, ROW_NUMBER() OVER (PARTITION BY workload_key ORDER BY " + BEST_ORDER + ") AS best_rank "
                + "FROM tuning_records WHERE target = ? AND error_code = 'NONE') ranked "
                + "WHERE best_rank = 1 ORDER BY workload_key", target);
        Map<String, TuningRecord> best = new LinkedHashMap<>();
        for (TuningRecord r : rs) best.put(r.workloadKey(), r);
        return best;
    }

    /**
     * Configs of a workload already measured, with or without error: what a resumed tune skips
     * (a config that crashed once is not worth a second crash).
     */
    public synchronized Set<String> measuredConfigs(String target, String workloadKey) {
        return io("read", () -> {
            Set<String> configs = new LinkedHashSet<>();
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT config FROM tuning_records WHERE target = ? AND workload_key = ? ORDER BY id")) {
                ps.setString(1, target);
                ps.setString(2, workloadKey);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) configs.add(rs.getString(1));
                }
            }
            return configs;
        });
    }

    /** Number of records in the database. */
    public synchronized long count() {
        return countWhere("", List.of());
    }

    /** Number of trials of a workload on a target: its records, drift references and confirmations not counted. */
    public synchronized long count(String target, String workloadKey) {
        return countWhere(" WHERE target = ? AND workload_key = ? AND tuner <> ? AND tuner <> ?",
                List.of(target, workloadKey, TuningRecord.REFERENCE, TuningRecord.CONFIRM));
    }

    /** One summary per tune run (and per target, tuner, device and version within it), oldest first. */
    public synchronized List<RunSummary> runs() {
        List<RunSummary> runs = new ArrayList<>();
        try (Statement s = conn.createStatement();
             ResultSet rs = s.executeQuery("SELECT run_id, target, tuner, device_key, kiln_version, "
                     + "COUNT(DISTINCT workload_key), COUNT(*), "
                     + "SUM(CASE WHEN error_code = 'NONE' THEN 0 ELSE 1 END), MIN(measured_at), MAX(measured_at), "
                     + "llvm_version, device_model, device_features, run_trials "
                     + "FROM tuning_records "
                     + "GROUP BY run_id, target, tuner, device_key, kiln_version, llvm_version, device_model, device_features, run_trials "
                     + "ORDER BY MIN(measured_at), run_id")) {
            while (rs.next())
                runs.add(new RunSummary(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getLong(6), rs.getLong(7), rs.getLong(8),
                        RecordRows.instant(rs.getString(9)), RecordRows.instant(rs.getString(10)),
                        new Provenance(rs.getString(11), rs.getString(12), rs.getString(13), rs.getLong(14))));
        } catch (SQLException e) {
            throw failure("read", e);
        }
        return runs;
    }

    /**
     * Writes every record, oldest first, as JSON Lines (one object per line). The file appears
     * whole or not at all: it is written beside the target and moved into place. Returns the count.
     */
    public synchronized long export(Path jsonl) {
        Path target = jsonl.toAbsolutePath();
        Path tmp = target.resolveSibling(target.getFileName() + ".part");
        long n = 0;
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8);
             Statement s = conn.createStatement();
             ResultSet rs = s.executeQuery("SELECT " + RecordRows.COLUMNS + " FROM tuning_records ORDER BY id")) {
            while (rs.next()) {
                w.write(RecordJson.toJson(RecordRows.read(rs)));
                w.newLine();
                n++;
            }
        } catch (IOException | SQLException e) {
            deleteQuietly(tmp);
            if (e instanceof SQLException se) throw failure("export", se);
            throw new TuningDbException("cannot write tuning records to " + jsonl + ": " + e
                    + ". Check that the directory exists and is writable.", e);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new TuningDbException("cannot move exported records into " + jsonl + ": " + e, e);
        }
        return n;
    }

    /** What an import read and how much of it was new. */
    public record ImportStats(long read, long added) {
        public long duplicates() {
            return read - added;
        }
    }

    /**
     * Adds the records of a JSON Lines file (as {@link #export} writes it), skipping any that is
     * already here exactly, so importing a file twice adds nothing. A bad line fails the whole
     * import, naming the file and line, and adds nothing.
     */
    public synchronized ImportStats importFrom(Path jsonl) {
        try (BufferedReader in = Files.newBufferedReader(jsonl, StandardCharsets.UTF_8)) {
            return inTransaction(() -> {
                long read = 0;
                long added = 0;
                try (PreparedStatement ps = conn.prepareStatement(RecordRows.INSERT)) {
                    String line;
                    int lineNo = 0;
                    while ((line = readLine(in, jsonl)) != null) {
                        lineNo++;
                        if (line.isBlank()) continue;
                        TuningRecord r;
                        try {
                            r = RecordJson.fromJson(line);
                        } catch (IllegalArgumentException e) {
                            throw new TuningDbException("cannot import " + jsonl + ": line " + lineNo
                                    + " is not a tuning record: " + e.getMessage()
                                    + ". Nothing was imported; fix or remove that line and import again.", e);
                        }
                        RecordRows.bind(ps, r);
                        added += ps.executeUpdate();
                        read++;
                    }
                }
                return new ImportStats(read, added);
            });
        } catch (IOException e) {
            throw new TuningDbException("cannot read tuning records from " + jsonl + ": " + e, e);
        } catch (SQLException e) {
            throw failure("import " + jsonl + " into", e);
        }
    }

    /**
     * Remembers the canonical form of a workload ({@code Workload.canonical}), which a pack needs
     * to rebuild the kernel and check a config against today's space; the first one stored stays.
     */
    public synchronized void putWorkload(String target, String workloadKey, String canonical) {
        importAll(List.of(), Map.of(target, Map.of(workloadKey, canonical)));
    }

    /** The canonical form of a workload, where a tune or an import stored it. */
    public synchronized Optional<String> workload(String target, String workloadKey) {
        return single("SELECT canonical FROM workloads WHERE target = ? AND workload_key = ?", target, workloadKey);
    }

    /** The ETag a pack from {@code source} (a URL) carried when it was last pulled into this database. */
    public synchronized Optional<String> pulledEtag(String source) {
        return single("SELECT etag FROM pulls WHERE source = ?", source);
    }

    /** Notes that the pack at {@code source} with {@code etag} is in this database now. */
    public synchronized void pulled(String source, String etag) {
        io("write a pull to", () -> inTransaction(() -> {
                try (PreparedStatement del = conn.prepareStatement("DELETE FROM pulls WHERE source = ?");
                     PreparedStatement ins = conn.prepareStatement("INSERT INTO pulls (source, etag, pulled_at) VALUES (?, ?, ?)")) {
                    del.setString(1, source);
                    del.executeUpdate();
                    ins.setString(1, source);
                    ins.setString(2, etag);
                    ins.setString(3, Instant.now().toString());
                    ins.executeUpdate();
                }
                return null;
            }));
    }

    /**
     * Appends {@code records} and stores {@code workloads} (target, then key, to canonical form) in
     * one transaction: all of it is committed or none. Returns how many records were new.
     */
    public synchronized long importAll(List<TuningRecord> records, Map<String, Map<String, String>> workloads) {
        return io("import records into", () -> inTransaction(() -> {
                try (PreparedStatement ps = conn.prepareStatement("INSERT INTO workloads (target, workload_key, canonical) "
                        + "VALUES (?, ?, ?) ON CONFLICT (target, workload_key) DO NOTHING")) {
                    for (var t : workloads.entrySet())
                        for (var w : t.getValue().entrySet()) {
                            ps.setString(1, t.getKey());
                            ps.setString(2, w.getKey());
                            ps.setString(3, w.getValue());
                            ps.executeUpdate();
                        }
                }
                long added = 0;
                try (PreparedStatement ps = conn.prepareStatement(RecordRows.INSERT)) {
                    for (TuningRecord r : records) {
                        RecordRows.bind(ps, r);
                        added += ps.executeUpdate();
                    }
                }
                return added;
            }));
    }

    /** The targets that have records, sorted. */
    public synchronized List<String> targets() {
        return io("read", () -> {
            List<String> out = new ArrayList<>();
            try (Statement s = conn.createStatement();
                 ResultSet rs = s.executeQuery("SELECT DISTINCT target FROM tuning_records ORDER BY target")) {
                while (rs.next()) out.add(rs.getString(1));
            }
            return out;
        });
    }

    @Override
    public synchronized void close() {
        try {
            conn.close();
        } catch (SQLException e) {
            throw failure("close", e);
        }
    }

    @Override
    public String toString() {
        return "tuning database " + where;
    }

    // ---- SQL plumbing ----

    private interface Work<T> {
        T run() throws SQLException;
    }

    /** Runs work in one transaction: committed if it returns, rolled back if it throws. */
    private <T> T inTransaction(Work<T> work) throws SQLException {
        conn.setAutoCommit(false);
        boolean done = false;
        try {
            T result = work.run();
            conn.commit();
            done = true;
            return result;
        } finally {
            if (!done) conn.rollback();
            conn.setAutoCommit(true);
        }
    }

    private List<TuningRecord> query(String sql, String... args) {
        return io("read", () -> {
            List<TuningRecord> out = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) ps.setString(i + 1, args[i]);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) out.add(RecordRows.read(rs));
                }
            }
            return out;
        });
    }

    private Optional<String> single(String sql, String... args) {
        return io("read", () -> {
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) ps.setString(i + 1, args[i]);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
                }
            }
        });
    }

    private long countWhere(String where, List<String> args) {
        return io("read", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT COUNT(*) FROM tuning_records" + where)) {
                for (int i = 0; i < args.size(); i++) ps.setString(i + 1, args.get(i));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    /**
     * Runs {@code work} on the connection; where a PostgreSQL server went away (restarted, or the
     * network cut), reconnects, waiting up to {@link #RECONNECT_MS}, and runs it again: every write
     * here is idempotent (a record is inserted only if its key is new), so work that may or may not
     * have committed before the loss can be repeated. Any other failure is a {@link TuningDbException}.
     */
    private <T> T io(String action, Work<T> work) {
        for (int attempt = 1; ; attempt++) {
            try {
                return work.run();
            } catch (SQLException e) {
                if (dialect != Dialect.POSTGRES || !Dialect.connectionLost(e) || attempt >= 10) throw failure(action, e);
                reconnect(e);
            }
        }
    }

    /** A new connection to the same PostgreSQL server, tried until it answers or {@link #RECONNECT_MS} pass. */
    private void reconnect(SQLException lost) {
        Dialect.closeQuietly(conn);
        long deadline = System.currentTimeMillis() + RECONNECT_MS;
        long pause = 200;
        while (true) {
            try {
                conn = dialect.connect(url);
                return;
            } catch (TuningDbException e) {
                if (System.currentTimeMillis() + pause > deadline)
                    throw new TuningDbException("lost tuning database " + where + " (" + Dialect.detail(lost) + ") and could not "
                            + "reconnect within " + RECONNECT_MS / 1000 + " s: " + e.getMessage(), e);
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new TuningDbException("interrupted while reconnecting to tuning database " + where, ie);
                }
                pause = Math.min(pause * 2, 5_000);
            }
        }
    }

    private static String readLine(BufferedReader in, Path file) {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new TuningDbException("cannot read tuning records from " + file + ": " + e, e);
        }
    }

    private TuningDbException failure(String action, SQLException e) {
        return new TuningDbException("cannot " + action + " tuning database " + where + ": "
                + Dialect.detail(e) + ". If another process holds it for long, wait and retry; "
                + "if the file or server is damaged, choose another database with --db.", e);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // The export already failed; the leftover .part file is harmless.
        }
    }
}
