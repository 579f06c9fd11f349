package dev.kiln.autotune.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * What code beside the tuning database needs of a shared PostgreSQL server (the fleet's broker
 * lives in the same database): a connection made as the tuning database makes one (timeouts,
 * credentials from the URL, PGUSER/PGPASSWORD or ~/.pgpass), whether a failure means the server
 * went away, and a record written inside the caller's own transaction.
 */
public final class Postgres {
    private Postgres() {}

    public static boolean isPostgres(String url) {
        return url != null && url.startsWith(Dialect.POSTGRES.prefix);
    }

    /** A new connection; a {@link TuningDbException} saying what to check when the server cannot be reached. */
    public static Connection connect(String url) {
        return Dialect.POSTGRES.connect(url);
    }

    /** Whether {@code e} says the connection is gone (a restart, a network cut) rather than the statement wrong. */
    public static boolean connectionLost(SQLException e) {
        return Dialect.connectionLost(e);
    }

    /** The URL as it may be shown, a password parameter masked. */
    public static String redact(String url) {
        return Dialect.redact(url);
    }

    /** The driver's reason for {@code e}, on one line. */
    public static String detail(Throwable e) {
        return Dialect.detail(e);
    }

    /**
     * Inserts {@code record} on {@code conn}, inside whatever transaction the caller has open, unless
     * an identical record (same key) is there; returns whether it was new.
     */
    public static boolean insertRecord(Connection conn, TuningRecord record) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(RecordRows.INSERT)) {
            RecordRows.bind(ps, record);
            return ps.executeUpdate() == 1;
        }
    }
}
