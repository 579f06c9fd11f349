package dev.kiln.autotune.fleet;

import dev.kiln.autotune.db.Postgres;
import dev.kiln.autotune.db.TuningDbException;
import dev.kiln.irhigh.KilnException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * One connection to the broker, used by one thread at a time, that outlives a restart of the
 * server: work that fails because the connection is gone is run again on a new one, tried with
 * backoff until {@code patienceMs} pass. Every piece of work is one transaction and idempotent
 * (a job is found by its key, a completion checks the lease), so repeating one that may have
 * committed is harmless. The channels it listens on are listened on again after a reconnect.
 */
final class BrokerConnection implements AutoCloseable {
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private final String url;
    private final long patienceMs;
    private final List<String> channels;
    private Connection conn;

    BrokerConnection(String url, long patienceMs, List<String> channels) {
        this.url = url;
        this.patienceMs = patienceMs;
        this.channels = channels;
    }

    /** Runs {@code work} in one transaction, reconnecting and repeating it where the server went away. */
    synchronized <T> T inTransaction(String what, Work<T> work) {
        long deadline = System.currentTimeMillis() + patienceMs;
        long pause = 200;
        while (true) {
            SQLException lost;
            try {
                Connection c = connection();
                c.setAutoCommit(false);
                boolean done = false;
                try {
                    T result = work.run(c);
                    c.commit();
                    done = true;
                    return result;
                } finally {
                    if (!done) rollbackQuietly(c);
                }
            } catch (SQLException e) {
                // Two parties taking back the same expired leases may still deadlock: the server aborts one, which tries again.
                if (isRetryable(e)) {
                    sleep(50);
                    continue;
                }
                if (!Postgres.connectionLost(e)) throw new KilnException("the fleet's broker failed to " + what + ": " + Postgres.detail(e), e);
                lost = e;
            } catch (TuningDbException e) {
                lost = new SQLException(e.getMessage(), "08001", e);
            }
            closeQuietly();
            if (System.currentTimeMillis() + pause > deadline)
                throw new KilnException("lost the fleet's broker " + Postgres.redact(url) + " (" + Postgres.detail(lost) + ") and could not "
                        + "reconnect within " + patienceMs / 1000 + " s while trying to " + what, lost);
            sleep(pause);
            pause = Math.min(pause * 2, 2_000);
        }
    }

    /** The live connection, for waiting on notifications between transactions; connects (and listens) if needed. */
    synchronized Connection connection() throws SQLException {
        if (conn != null && !conn.isClosed()) return conn;
        conn = Postgres.connect(url);
        try (Statement s = conn.createStatement()) {
            for (String ch : channels) s.execute("LISTEN " + ch);
        }
        return conn;
    }

    synchronized void closeQuietly() {
        if (conn == null) return;
        try {
            conn.close();
        } catch (SQLException ignored) {
            // the connection is being dropped anyway
        }
        conn = null;
    }

    @Override
    public void close() {
        closeQuietly();
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // a lost connection rolls back by itself
        }
    }

    private static boolean isRetryable(SQLException e) {
        return "40P01".equals(e.getSQLState()) || "40001".equals(e.getSQLState());
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("interrupted", e);
        }
    }
}
