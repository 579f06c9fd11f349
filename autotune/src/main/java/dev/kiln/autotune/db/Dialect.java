package dev.kiln.autotune.db;

import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * What differs between the two databases Kiln stores tuning records in: how to connect, the
 * type of the row id, and how to explain a failure. Everything else is the same SQL.
 */
enum Dialect {
    SQLITE("jdbc:sqlite:", "INTEGER PRIMARY KEY"),
    POSTGRES("jdbc:postgresql:", "BIGSERIAL PRIMARY KEY");

    /** How long an append waits for another process's write to finish before giving up. */
    static final int BUSY_TIMEOUT_MS = 30_000;
    /** Seconds to wait for a PostgreSQL server to answer before saying it cannot be reached. */
    static final int CONNECT_TIMEOUT_S = 10;

    final String prefix;
    final String idColumn;

    Dialect(String prefix, String idColumn) {
        this.prefix = prefix;
        this.idColumn = idColumn;
    }

    static Dialect of(String url) {
        for (Dialect d : values()) if (url.startsWith(d.prefix)) return d;
        throw new TuningDbException("tuning database URL '" + redact(url) + "' is not supported: use "
                + "jdbc:sqlite:FILE for a local file or jdbc:postgresql://HOST[:PORT]/DB for a shared server.");
    }

    Connection connect(String url) {
        return switch (this) {
            case SQLITE -> connectSqlite(url);
            case POSTGRES -> connectPostgres(url);
        };
    }

    /** The file behind a SQLite URL, or null for an in-memory database. */
    static Path sqliteFile(String url) {
        String rest = url.substring(SQLITE.prefix.length());
        int query = rest.indexOf('?');
        if (query >= 0) rest = rest.substring(0, query);
        if (rest.startsWith("file:")) rest = rest.substring("file:".length());
        if (rest.isEmpty() || rest.equals(":memory:") || rest.startsWith(":resource:")) return null;
        return Path.of(rest);
    }

    /** The URL as it may be shown: a password given as a URL parameter is masked. */
    static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
    }

    private static Connection connectSqlite(String url) {
        Path file = sqliteFile(url);
        if (file != null) {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null && !Files.isDirectory(dir))
                throw new TuningDbException("cannot open tuning database " + file + ": directory " + dir
                        + " does not exist. Create it, or choose another file with --db jdbc:sqlite:FILE.");
        }
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        // Write transactions take the write lock at BEGIN, so two tuners appending to one file
        // wait for each other (busy timeout) instead of failing on a lock upgrade.
        config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        Connection c = null;
        try {
            c = DriverManager.getConnection(url, config.toProperties());
            try (Statement s = c.createStatement()) {
                // WAL with synchronous=FULL: a commit is on disk when append returns, so neither a
                // kill -9 nor a power cut loses a committed record.
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                // Reading the schema makes SQLite read the header: garbage fails here, before any write.
                s.executeQuery("SELECT count(*) FROM sqlite_master").close();
            }
            return c;
        } catch (SQLException e) {
            closeQuietly(c);
            throw sqliteError(url, file, e);
        }
    }

    private static TuningDbException sqliteError(String url, Path file, SQLException e) {
        String where = file == null ? url : file.toString();
        if (e instanceof SQLiteException se) {
            SQLiteErrorCode code = se.getResultCode();
            if (code == SQLiteErrorCode.SQLITE_NOTADB || code == SQLiteErrorCode.SQLITE_CORRUPT)
                return new TuningDbException("tuning database " + where + " is not an SQLite database or is "
                        + "corrupt (" + code + "). Kiln left it untouched: move it aside to start a new one, "
                        + "or choose another file with --db jdbc:sqlite:FILE.", e);
            if (code == SQLiteErrorCode.SQLITE_CANTOPEN || code == SQLiteErrorCode.SQLITE_READONLY
                    || code == SQLiteErrorCode.SQLITE_PERM)
                return new TuningDbException("cannot open tuning database " + where + " for writing (" + code
                        + "). Check that the file and its directory are writable, or choose another file with "
                        + "--db jdbc:sqlite:FILE.", e);
        }
        return new TuningDbException("cannot open tuning database " + where + ": " + detail(e)
                + ". Check the file, or choose another with --db jdbc:sqlite:FILE.", e);
    }

    private static Connection connectPostgres(String url) {
        Properties props = new Properties();
        // Fail in seconds, not minutes, when the server is down; URL parameters still win.
        props.setProperty("connectTimeout", Integer.toString(CONNECT_TIMEOUT_S));
        props.setProperty("loginTimeout", Integer.toString(CONNECT_TIMEOUT_S));
        environmentCredentials(url, props, System.getenv());
        try {
            Connection c = DriverManager.getConnection(url, props);
            if (c == null) throw new SQLException("the PostgreSQL driver does not accept this URL");
            return c;
        } catch (SQLException e) {
            throw new TuningDbException("cannot reach the tuning database at " + redact(url) + ": "
                    + detail(e) + ". Check that the PostgreSQL server is running and reachable "
                    + "from this machine, that host, port, database, user and password in the URL are right "
                    + "(jdbc:postgresql://HOST[:PORT]/DB?user=U&password=P), or use --db jdbc:sqlite:FILE "
                    + "for a local file.", e);
        }
    }

    /**
     * PGUSER and PGPASSWORD, as libpq reads them, where the URL names no user or password (the
     * PostgreSQL JDBC driver reads neither; it reads ~/.pgpass and PGPASSFILE itself).
     */
    static void environmentCredentials(String url, Properties props, java.util.Map<String, String> env) {
        String query = url.contains("?") ? url.substring(url.indexOf('?') + 1).toLowerCase(java.util.Locale.ROOT) : "";
        boolean hasUser = query.matches("(^|.*&)user=.*"), hasPassword = query.matches("(^|.*&)password=.*");
        if (!hasUser && env.get("PGUSER") != null && !env.get("PGUSER").isEmpty()) props.setProperty("user", env.get("PGUSER"));
        if (!hasPassword && env.get("PGPASSWORD") != null) props.setProperty("password", env.get("PGPASSWORD"));
    }

    /**
     * The driver's reason on one line without its closing period, with the root cause when the
     * driver's own message hides it ("The connection attempt failed" from an unknown host).
     */
    static String detail(Throwable e) {
        String detail = firstLine(e.getMessage());
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        if (root != e && root.getMessage() != null && !detail.contains(root.getMessage()))
            detail += " (" + root.getClass().getSimpleName() + ": " + firstLine(root.getMessage()) + ")";
        return detail;
    }

    private static String firstLine(String message) {
        if (message == null) return "no detail from the driver";
        int nl = message.indexOf('\n');
        String line = (nl < 0 ? message : message.substring(0, nl)).strip();
        while (line.endsWith(".")) line = line.substring(0, line.length() - 1);
        return line;
    }

    /**
     * Whether {@code e} says the connection is gone rather than the statement wrong: SQLSTATE class
     * 08 (connection exception) or 57P01-57P03 (the server shutting down or starting up).
     */
    static boolean connectionLost(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException se && se.getSQLState() != null) {
                String state = se.getSQLState();
                if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02") || state.equals("57P03")) return true;
            }
        }
        return false;
    }

    static void closeQuietly(Connection c) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException ignored) {
            // Already failing; the first error is the one to report.
        }
    }
}
