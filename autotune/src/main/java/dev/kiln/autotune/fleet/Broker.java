package dev.kiln.autotune.fleet;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.kiln.autotune.db.Postgres;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.tune.CandidateRunner;
import dev.kiln.autotune.tune.RecordTemplate;
import dev.kiln.irhigh.KilnException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The broker's tables and every statement on them; each method runs inside the caller's
 * transaction. A job is {@code queued}, then {@code leased} by one board until its lease runs out
 * (the board's heartbeat extends it), then {@code done} with its result; the transaction that makes
 * it done also writes its tuning record, so a job is recorded once, by whoever completes it.
 */
final class Broker {
    static final String JOBS = "kiln_jobs";
    static final String DONE = "kiln_done";
    /** The advisory lock that serializes creating the tables ("kiln_flt"). */
    private static final long SCHEMA_LOCK = 0x6b696c6e5f666c74L;
    /** Failures on this many boards make a job an error record. */
    static final int MAX_ATTEMPTS = 2;

    private Broker() {}

    /** A job as a board takes it. */
    record Job(long id, String runId, String kind, byte[] candidate, byte[] request, String record) {}

    /** A finished job: its result, when and where it was measured. */
    record Done(MeasureResult result, Instant measuredAt, String deviceKey) {
        CandidateRunner.Measurement measurement() {
            return new CandidateRunner.Measurement(result, measuredAt, deviceKey);
        }
    }

    /** A board as {@code kiln boards} shows it. */
    record BoardRow(String key, String board, String target, String kind, String device, double ageS, Long busyJob,
                    long jobsDone, long errors, boolean gone) {}

    static void createSchema(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
            s.execute("CREATE TABLE IF NOT EXISTS fleet_boards (board TEXT PRIMARY KEY, board_key TEXT NOT NULL, target TEXT NOT NULL, "
                    + "kind TEXT NOT NULL, device_key TEXT NOT NULL, device TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL, "
                    + "heartbeat TIMESTAMPTZ NOT NULL, busy_job BIGINT, jobs_done BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0)");
            s.execute("CREATE TABLE IF NOT EXISTS fleet_jobs (id BIGSERIAL PRIMARY KEY, board_key TEXT NOT NULL, run_id TEXT NOT NULL, "
                    + "job_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, candidate BYTEA NOT NULL, request BYTEA NOT NULL, record TEXT, "
                    + "state TEXT NOT NULL DEFAULT 'queued', board TEXT, lease_until TIMESTAMPTZ, attempts INTEGER NOT NULL DEFAULT 0, "
                    + "failed_on TEXT[] NOT NULL DEFAULT '{}', failures TEXT NOT NULL DEFAULT '', expires_at TIMESTAMPTZ NOT NULL, "
                    + "result BYTEA, measured_at TEXT, device_key TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now())");
            s.execute("CREATE INDEX IF NOT EXISTS fleet_jobs_queue ON fleet_jobs (board_key, state, id)");
            s.execute("CREATE INDEX IF NOT EXISTS fleet_jobs_run ON fleet_jobs (run_id, state)");
        }
    }

    // ---- boards ----

    static void register(Connection c, String board, String key, String target, String kind, String deviceKey, String device)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO fleet_boards (board, board_key, target, kind, device_key, device, "
                + "started_at, heartbeat) VALUES (?, ?, ?, ?, ?, ?, now(), now()) ON CONFLICT (board) DO UPDATE SET board_key = EXCLUDED.board_key, "
                + "target = EXCLUDED.target, kind = EXCLUDED.kind, device_key = EXCLUDED.device_key, device = EXCLUDED.device, "
                + "heartbeat = now()")) {
            bind(ps, board, key, target, kind, deviceKey, device);
            ps.executeUpdate();
        }
    }

    /** Says the board is alive and extends the lease of the job it holds; false where its row is gone (re-register). */
    static boolean heartbeat(Connection c, String board, long leaseS) throws SQLException {
        // Job rows before board rows, as every statement here takes them, so that two parties never deadlock.
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_jobs SET lease_until = now() + make_interval(secs => ?) "
                + "WHERE board = ? AND state = 'leased' AND lease_until >= now()")) {
            ps.setDouble(1, leaseS);
            ps.setString(2, board);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_boards SET heartbeat = now() WHERE board = ?")) {
            ps.setString(1, board);
            return ps.executeUpdate() == 1;
        }
    }

    static List<BoardRow> boards(Connection c, String key, long leaseS) throws SQLException {
        List<BoardRow> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT board_key, board, target, kind, device, "
                + "EXTRACT(EPOCH FROM now() - heartbeat), busy_job, jobs_done, errors FROM fleet_boards "
                + (key == null ? "" : "WHERE board_key = ? ") + "ORDER BY board_key, board")) {
            if (key != null) ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long busy = rs.getLong(7);
                    Long busyJob = rs.wasNull() ? null : busy;
                    double age = rs.getDouble(6);
                    out.add(new BoardRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), age,
                            busyJob, rs.getLong(8), rs.getLong(9), age > leaseS));
                }
            }
        }
        return out;
    }

    // ---- jobs, the tuner's side ----

    /** Queues a job unless one with {@code jobKey} exists (a retried or resumed submit); returns its id. */
    static long submit(Connection c, String key, String runId, String jobKey, String kind, byte[] candidate, byte[] request,
                       String record, long ttlS) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO fleet_jobs (board_key, run_id, job_key, kind, candidate, request, "
                + "record, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, now() + make_interval(secs => ?)) ON CONFLICT (job_key) DO NOTHING")) {
            ps.setString(1, key);
            ps.setString(2, runId);
            ps.setString(3, jobKey);
            ps.setString(4, kind);
            ps.setBytes(5, candidate);
            ps.setBytes(6, request);
            ps.setString(7, record);
            ps.setDouble(8, ttlS);
            ps.executeUpdate();
        }
        long id;
        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM fleet_jobs WHERE job_key = ?")) {
            ps.setString(1, jobKey);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                id = rs.getLong(1);
            }
        }
        notify(c, JOBS);
        return id;
    }

    /** Keeps a live tuner's open jobs from expiring. */
    static void extendRun(Connection c, String runId, long ttlS) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_jobs SET expires_at = now() + make_interval(secs => ?) "
                + "WHERE run_id = ? AND state <> 'done'")) {
            ps.setDouble(1, ttlS);
            ps.setString(2, runId);
            ps.executeUpdate();
        }
    }

    /** The job's result once it is done. */
    static Optional<Done> result(Connection c, long id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT result, measured_at, device_key FROM fleet_jobs WHERE id = ? AND state = 'done'")) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return Optional.empty();
                return Optional.of(new Done(parse(rs.getBytes(1)), Instant.parse(rs.getString(2)), rs.getString(3)));
            }
        }
    }

    /** Drops a finished tuner's jobs that no board has taken. */
    static void dropQueued(Connection c, String runId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM fleet_jobs WHERE run_id = ? AND state = 'queued'")) {
            ps.setString(1, runId);
            ps.executeUpdate();
        }
    }

    // ---- jobs, the board's side ----

    /** Leases the oldest open job of {@code key} and {@code kind} this board has not failed, skipping any another board is taking. */
    static Optional<Job> claim(Connection c, String board, String key, String kind, long leaseS) throws SQLException {
        Job job = null;
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_jobs SET state = 'leased', board = ?, "
                + "lease_until = now() + make_interval(secs => ?) WHERE id = (SELECT id FROM fleet_jobs WHERE board_key = ? AND kind = ? "
                + "AND state = 'queued' AND expires_at > now() AND NOT (? = ANY(failed_on)) ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
                + "RETURNING id, run_id, kind, candidate, request, record")) {
            ps.setString(1, board);
            ps.setDouble(2, leaseS);
            ps.setString(3, key);
            ps.setString(4, kind);
            ps.setString(5, board);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) job = new Job(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getBytes(4), rs.getBytes(5), rs.getString(6));
            }
        }
        if (job != null) setBusy(c, board, job.id());
        return Optional.ofNullable(job);
    }

    /**
     * Makes the job done with {@code result} and writes its tuning record (its template completed
     * with the result), if {@code board} still holds its lease; false (nothing written) where the
     * lease was lost and the job went to another board, or it is done already.
     */
    static boolean complete(Connection c, long id, String board, MeasureResult result, Instant at, String deviceKey) throws SQLException {
        String record;
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_jobs SET state = 'done', result = ?, measured_at = ?, device_key = ?, "
                + "lease_until = NULL WHERE id = ? AND board = ? AND state = 'leased' RETURNING record")) {
            ps.setBytes(1, result.toByteArray());
            ps.setString(2, at.toString());
            ps.setString(3, deviceKey);
            ps.setLong(4, id);
            ps.setString(5, board);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return false;
                record = rs.getString(1);
            }
        }
        if (record != null)
            Postgres.insertRecord(c, RecordTemplate.fromJson(record).complete(new CandidateRunner.Measurement(result, at, deviceKey)));
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_boards SET busy_job = NULL, jobs_done = jobs_done + 1, "
                + "errors = errors + ? WHERE board = ?")) {
            ps.setInt(1, result.getStatus() == MeasureResult.Status.OK ? 0 : 1);
            ps.setString(2, board);
            ps.executeUpdate();
        }
        notify(c, DONE);
        return true;
    }

    /**
     * The board's failure on the job (it crashed or hung the board's runner, or the board stopped
     * heartbeating): the job goes back to the queue for another board, or, at the second board's
     * failure or where no other live board of its key is left, completes as an error record naming
     * every board it failed on. False where {@code board} no longer holds the job.
     */
    static boolean fail(Connection c, long id, String board, MeasureResult failure, Instant at, String deviceKey, long leaseS)
            throws SQLException {
        String key;
        int attempts;
        List<String> failedOn;
        String failures;
        try (PreparedStatement ps = c.prepareStatement("SELECT board_key, attempts, failed_on, failures FROM fleet_jobs "
                + "WHERE id = ? AND board = ? AND state = 'leased' FOR UPDATE")) {
            ps.setLong(1, id);
            ps.setString(2, board);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return false;
                key = rs.getString(1);
                attempts = rs.getInt(2) + 1;
                failedOn = new ArrayList<>(Arrays.asList((String[]) rs.getArray(3).getArray()));
                failures = rs.getString(4);
            }
        }
        failedOn.add(board);
        failures += (failures.isEmpty() ? "" : "; ") + "on board " + board + ": " + failure.getError();
        long others;
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM fleet_boards WHERE board_key = ? "
                + "AND heartbeat > now() - make_interval(secs => ?) AND NOT (board = ANY(?))")) {
            ps.setString(1, key);
            ps.setDouble(2, leaseS);
            ps.setArray(3, c.createArrayOf("text", failedOn.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                others = rs.getLong(1);
            }
        }
        Array failedArray = c.createArrayOf("text", failedOn.toArray());
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_jobs SET attempts = ?, failed_on = ?, failures = ? WHERE id = ?")) {
            ps.setInt(1, attempts);
            ps.setArray(2, failedArray);
            ps.setString(3, failures);
            ps.setLong(4, id);
            ps.executeUpdate();
        }
        if (attempts >= MAX_ATTEMPTS || others == 0) {
            String why = attempts >= MAX_ATTEMPTS ? "failed on " + attempts + " boards" : "failed, and no other board of key " + key + " is alive";
            return complete(c, id, board, failure.toBuilder().clearCosts().setError(why + ": " + failures).build(), at, deviceKey);
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_jobs SET state = 'queued', board = NULL, lease_until = NULL WHERE id = ?")) {
            ps.setLong(1, id);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_boards SET busy_job = NULL, errors = errors + 1 WHERE board = ?")) {
            ps.setString(1, board);
            ps.executeUpdate();
        }
        notify(c, JOBS);
        return true;
    }

    /**
     * Takes back jobs whose board stopped heartbeating (its lease ran out): each is that board's
     * failure ({@link #fail}). Any party may run it; returns how many it took back.
     */
    static int requeueExpired(Connection c, long leaseS) throws SQLException {
        record Expired(long id, String board, String deviceKey) {}
        List<Expired> expired = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT j.id, j.board, COALESCE(b.device_key, j.board) FROM fleet_jobs j "
                + "LEFT JOIN fleet_boards b ON b.board = j.board WHERE j.state = 'leased' AND j.lease_until < now() "
                + "ORDER BY j.id FOR UPDATE OF j SKIP LOCKED")) {
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) expired.add(new Expired(rs.getLong(1), rs.getString(2), rs.getString(3)));
            }
        }
        for (Expired e : expired) {
            MeasureResult crash = MeasureResult.newBuilder().setStatus(MeasureResult.Status.CRASH)
                    .setError("board " + e.board() + " stopped heartbeating while measuring it (its lease of " + leaseS + " s ran out)").build();
            fail(c, e.id(), e.board(), crash, Instant.now(), e.deviceKey(), leaseS);
        }
        return expired.size();
    }

    /** Deletes jobs that expired an hour ago without being done (their tuner is gone) and boards gone for a day. */
    static void housekeep(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM fleet_jobs WHERE state = 'queued' AND expires_at < now() - interval '1 hour'");
            s.executeUpdate("DELETE FROM fleet_boards WHERE heartbeat < now() - interval '1 day'");
        }
    }

    private static void setBusy(Connection c, String board, long id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE fleet_boards SET busy_job = ? WHERE board = ?")) {
            ps.setLong(1, id);
            ps.setString(2, board);
            ps.executeUpdate();
        }
    }

    private static void notify(Connection c, String channel) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("NOTIFY " + channel);
        }
    }

    private static void bind(PreparedStatement ps, String... values) throws SQLException {
        for (int i = 0; i < values.length; i++) ps.setString(i + 1, values[i]);
    }

    static MeasureResult parse(byte[] bytes) {
        try {
            return MeasureResult.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new KilnException("a fleet job's result is not a measurement result: " + e.getMessage(), e);
        }
    }
}
