package dev.kiln.autotune.db;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL server for tests: Debian's {@code postgresql} binaries, a cluster made by
 * {@code initdb} in a temporary directory (trust authentication, 127.0.0.1 on a free port, its
 * socket in that directory), started with {@code pg_ctl -w}, and stopped and deleted by
 * {@link #close} or, if a test run dies first, by a JVM shutdown hook.
 *
 * <p>PostgreSQL refuses to run as root: as root (CI on a fresh machine) the cluster belongs to the
 * {@code postgres} system user the package creates, and its commands run under {@code runuser};
 * as anyone else it is the user's own. Where no binaries are installed, {@link #startOrSkip}
 * skips the test with what to install. {@code KILN_TEST_POSTGRES_URL}, where set, names a server
 * to use instead (nothing is started, and only what the tests create there is dropped).
 */
public final class PostgresCluster implements AutoCloseable {
    /** The database and superuser of a throwaway cluster. */
    private static final String NAME = "kiln";
    private static final String EXTERNAL = System.getenv("KILN_TEST_POSTGRES_URL");
    private static final long COMMAND_TIMEOUT_S = 120;

    /** Set once the server answers. */
    private String url;
    /** The cluster's directory (data, socket, server log); null for an external server. */
    private final Path dir;
    private final List<String> asOwner;
    private final Path bin;
    private final List<String> schemas = new ArrayList<>();
    private final Thread hook;
    private boolean closed;

    private PostgresCluster(String url, Path dir, List<String> asOwner, Path bin) {
        this.url = url;
        this.dir = dir;
        this.asOwner = asOwner;
        this.bin = bin;
        this.hook = dir == null ? null : new Thread(this::stopAndDelete, "kiln-postgres-cleanup");
        if (hook != null) Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * The server for this test class: the one KILN_TEST_POSTGRES_URL names, else a new throwaway
     * cluster. Skips the test (a JUnit assumption) where PostgreSQL is not installed; fails it
     * where it is but will not start, with the server's log.
     */
    public static PostgresCluster startOrSkip() {
        if (EXTERNAL != null && !EXTERNAL.isBlank()) return new PostgresCluster(EXTERNAL.strip(), null, List.of(), null);
        Optional<Path> bin = binaries();
        Assumptions.assumeTrue(bin.isPresent(), "PostgreSQL server binaries (initdb, pg_ctl) are neither on the PATH nor "
                + "under /usr/lib/postgresql/*/bin: install Debian's postgresql package (scripts/test does), or set "
                + "KILN_TEST_POSTGRES_URL to a server's JDBC URL");
        List<String> asOwner = List.of();
        UserPrincipal owner = null;
        if (isRoot()) {
            Optional<Path> runuser = Stream.of("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser")
                    .map(Path::of).filter(Files::isExecutable).findFirst();
            Assumptions.assumeTrue(runuser.isPresent(), "PostgreSQL refuses to run as root and runuser (util-linux) is missing");
            try {
                owner = FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
            } catch (UserPrincipalNotFoundException e) {
                Assumptions.abort("PostgreSQL refuses to run as root and there is no 'postgres' user to run it as: "
                        + "install Debian's postgresql package, which creates it, or run the tests as another user");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            asOwner = List.of(runuser.get().toString(), "-u", "postgres", "--");
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("kiln-pg-");
            if (owner != null) Files.setOwner(dir, owner);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a directory for a PostgreSQL cluster", e);
        }
        PostgresCluster cluster = new PostgresCluster(null, dir, asOwner, bin.get());
        try {
            cluster.initAndStart();
            return cluster;
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    /** The JDBC URL of the cluster's database ({@code jdbc:postgresql://127.0.0.1:PORT/kiln?user=kiln}). */
    public String url() {
        return url;
    }

    /**
     * A new, empty schema of its own, as a JDBC URL ({@code currentSchema=}): where one test works,
     * so that tests sharing a server see nothing of each other.
     */
    public String freshSchema() {
        String schema = "kiln_test_" + UUID.randomUUID().toString().replace("-", "");
        execute(url, "CREATE SCHEMA " + schema);
        synchronized (schemas) {
            schemas.add(schema);
        }
        return url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    /**
     * The server's log, where every statement that changes data is written ({@code log_statement =
     * mod}) with the client's {@code ApplicationName}: what reached the server, for tests to compare
     * with what the tables hold. Empty for an external server.
     */
    public Optional<Path> log() {
        return dir == null ? Optional.empty() : Optional.of(dir.resolve("server.log"));
    }

    /**
     * Restarts the server ({@code pg_ctl restart -m fast}: clients are disconnected, committed data
     * stays) on the same port. Skips the test on an external server, which is not ours to restart.
     */
    public void restart() {
        Assumptions.assumeTrue(dir != null, "restarting PostgreSQL needs a throwaway cluster, not KILN_TEST_POSTGRES_URL");
        pgCtl("-m", "fast", "-w", "-t", "60", "restart");
    }

    /** Stops the server and deletes its directory (a throwaway cluster), or drops the schemas made on an external one. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (dir == null) {
            for (String schema : schemas) execute(url, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            return;
        }
        stopAndDelete();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook is running or has run, and stopping twice is harmless.
        }
    }

    @Override
    public String toString() {
        return dir == null ? "PostgreSQL at " + Dialect.redact(url) : "throwaway PostgreSQL cluster in " + dir;
    }

    // ---- the throwaway cluster ----

    private void initAndStart() {
        Path data = dir.resolve("data");
        run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", NAME, "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync"));
        // Settings of a cluster that lives for one test run: nothing to keep through an OS crash,
        // so no fsync; reachable only from this machine; and a log of every data-changing statement.
        String settings = String.join("\n",
                "listen_addresses = '127.0.0.1'",
                "unix_socket_directories = '" + dir + "'",
                "fsync = off", "synchronous_commit = off", "full_page_writes = off",
                "log_statement = 'mod'", "log_line_prefix = '%m [%p] %a: '", "");
        // A free port now may be taken by the time the server binds it: then try another.
        RuntimeException failure = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port = freePort();
            try {
                Files.writeString(data.resolve("postgresql.conf"), settings + "port = " + port + "\n",
                        StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
                pgCtl("-w", "-t", "60", "start");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                failure = e;
                continue;
            }
            execute("jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=" + NAME, "CREATE DATABASE " + NAME);
            url = "jdbc:postgresql://127.0.0.1:" + port + "/" + NAME + "?user=" + NAME;
            return;
        }
        throw failure;
    }

    private void pgCtl(String... args) {
        List<String> cmd = new ArrayList<>(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(),
                "-l", dir.resolve("server.log").toString()));
        cmd.addAll(List.of(args));
        run(cmd);
    }

    /** Runs a PostgreSQL command as the cluster's owner; throws with its output and the server log if it fails. */
    private void run(List<String> command) {
        List<String> cmd = new ArrayList<>(asOwner);
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("LC_ALL", "C");
        pb.environment().keySet().removeIf(k -> k.startsWith("PG")); // PGDATA, PGPORT... of the developer's own server
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            // pg_ctl hands the server's output to the log (-l), so this stream ends when the command does.
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(COMMAND_TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish in " + COMMAND_TIMEOUT_S + " s:\n" + out);
            }
            if (p.exitValue() != 0)
                throw new IllegalStateException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "):\n" + out
                        + serverLogTail());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", cmd), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", cmd), e);
        }
    }

    private String serverLogTail() {
        Path log = dir.resolve("server.log");
        try {
            if (!Files.exists(log)) return "";
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return "\nserver log " + log + ":\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "\n(cannot read " + log + ": " + e + ")";
        }
    }

    /** Stops the server at once (its data is thrown away) and deletes the directory; never throws. */
    private void stopAndDelete() {
        if (Files.exists(dir.resolve("data/postmaster.pid"))) {
            try {
                pgCtl("-m", "immediate", "-w", "stop");
            } catch (RuntimeException e) {
                System.err.println("could not stop " + this + ": " + e.getMessage());
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }

    /**
     * The directory holding initdb and pg_ctl: the PATH's, else the newest version under
     * /usr/lib/postgresql (where Debian puts them, off the PATH).
     */
    static Optional<Path> binaries() {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(java.io.File.pathSeparator)) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d);
            if (Files.isExecutable(p.resolve("initdb")) && Files.isExecutable(p.resolve("pg_ctl"))) return Optional.of(p);
        }
        Path debian = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(debian)) return Optional.empty();
        try (Stream<Path> versions = Files.list(debian)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparing(PostgresCluster::version));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** {@code /usr/lib/postgresql/15/bin} to 15.0, {@code .../9.6/bin} to 9.6; anything else sorts first. */
    private static double version(Path bin) {
        try {
            return Double.parseDouble(bin.getParent().getFileName().toString());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean isRoot() {
        try {
            Process p = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
            String uid = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
            p.waitFor();
            return uid.equals("0");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port for PostgreSQL", e);
        }
    }

    private static void execute(String url, String sql) {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '" + sql + "' on " + Dialect.redact(url) + ": " + e.getMessage(), e);
        }
    }
}
