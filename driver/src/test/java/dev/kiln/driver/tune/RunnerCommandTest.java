package dev.kiln.driver.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.runner.RunnerMain;
import dev.kiln.autotune.runner.RunnerTls;
import dev.kiln.autotune.runner.RunnerToken;
import dev.kiln.driver.tune.TuneEndToEndTest.Run;
import dev.kiln.targets.Target;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln runner} from the command line: it will not listen beyond loopback without a token,
 * nor take a weak or shared token file; {@code --gen-cert} writes a private pair; and a runner
 * started as a process of its own, with a token and TLS, refuses {@code kiln tune --rpc} without
 * the token or with another (measuring nothing: it never even starts its worker), refuses a
 * plaintext tuner, and tunes with the right token and certificate.
 */
class RunnerCommandTest {
    @TempDir
    Path dir;

    @Test
    void everyInterfaceWithoutATokenIsRefused() {
        assumeTrue(System.getenv(RunnerToken.ENV) == null, RunnerToken.ENV + " is set here");
        Run r = TuneEndToEndTest.kiln("runner", "--bind", "0.0.0.0", "--port", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("refusing to listen on 0.0.0.0 without a token") && r.err().contains("--token-file"), r.err());
    }

    @Test
    void weakOrSharedTokenFilesAreRefused() throws Exception {
        Path weak = dir.resolve("weak");
        Files.writeString(weak, "hunter2\n");
        Files.setPosixFilePermissions(weak, PosixFilePermissions.fromString("rw-------"));
        Run r = TuneEndToEndTest.kiln("runner", "--bind", "0.0.0.0", "--port", "0", "--token-file", weak.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("too weak"), r.err());
        Path shared = tokenFile(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rw-r--r--"));
        r = TuneEndToEndTest.kiln("runner", "--bind", "0.0.0.0", "--port", "0", "--token-file", shared.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("chmod 600 " + shared), r.err());
        Run tune = TuneEndToEndTest.kiln("tune", "zoo:mlp", "--rpc", "127.0.0.1:1", "--token-file", shared.toString());
        assertEquals(1, tune.code());
        assertTrue(tune.err().contains("chmod 600"), tune.err());
        Run noRpc = TuneEndToEndTest.kiln("tune", "zoo:mlp", "--token-file", tokenFile(dir.resolve("t")).toString());
        assertEquals(1, noRpc.code());
        assertTrue(noRpc.err().contains("go with --rpc"), noRpc.err());
    }

    @Test
    void aRunnerProcessWithTokenAndTlsServesOnlyTunersWithBoth() throws Exception {
        Path certs = dir.resolve("certs");
        Run gen = TuneEndToEndTest.kiln("runner", "--gen-cert", certs.toString(), "--host", "board1.example");
        assertEquals(0, gen.code(), gen.err());
        Path cert = certs.resolve(RunnerTls.CERT_FILE), key = certs.resolve(RunnerTls.KEY_FILE);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        assertTrue(Files.readString(cert).startsWith("-----BEGIN CERTIFICATE-----"));
        assertTrue(gen.out().contains("board1.example") && gen.out().contains("--tls-cert"), gen.out());

        Path token = tokenFile(dir.resolve("runner.token"));
        Path wrong = tokenFile(dir.resolve("wrong.token"));
        RunnerProcess runner = RunnerProcess.start(dir, "--port", "0", "--token-file", token.toString(),
                "--tls-cert", cert.toString(), "--tls-key", key.toString());
        String rpc = "127.0.0.1:" + runner.port;
        String db = "jdbc:sqlite:" + dir.resolve("board.db");
        try {
            List<String> common = List.of("tune", "zoo:mlp", "--rpc", rpc, "--trials", "4", "--no-end-to-end", "--tuner", "random",
                    "--db", db, "--plot", dir.resolve("c.png").toString(), "--min-repeat-ms", "1");
            assumeTrue(System.getenv(RunnerToken.ENV) == null, RunnerToken.ENV + " is set here");
            Run none = tune(common, "--tls-cert", cert.toString());
            assertEquals(1, none.code());
            assertTrue(none.err().contains("refused this tuner") && none.err().contains("needs a token"), none.err());
            Run bad = tune(common, "--tls-cert", cert.toString(), "--token-file", wrong.toString());
            assertEquals(1, bad.code());
            assertTrue(bad.err().contains("wrong token") && bad.err().contains("--token-file"), bad.err());
            Run plain = tune(common, "--token-file", token.toString());
            assertEquals(1, plain.code());
            assertTrue(plain.err().contains("if it serves TLS"), plain.err());
            // Nothing ran: no record, and the runner never started its worker.
            try (TuningDatabase d = TuningDatabase.open(db)) {
                assertEquals(0, d.count());
            }
            assertTrue(runner.saw("refused Info from /127.0.0.1") && runner.saw("no token") && runner.saw("wrong token"), runner.lines());
            assertFalse(runner.saw("started the measuring worker"), runner.lines());

            Run good = tune(common, "--tls-cert", cert.toString(), "--token-file", token.toString());
            assertEquals(0, good.code(), good.err());
            try (TuningDatabase d = TuningDatabase.open(db)) {
                assertEquals(4, TuneEndToEndTest.trials(d, "zoo:mlp", Target.host()));
            }
            assertTrue(runner.saw("started the measuring worker"), runner.lines());
            runner.awaitLine("candidates measured", 10);
            assertEquals(List.of(), runner.sessions(), "a session's directory outlived its connection");
        } finally {
            runner.stop();
        }
        assertFalse(Files.exists(runner.workRoot), "the runner left " + runner.workRoot);
    }

    private static Run tune(List<String> common, String... more) {
        List<String> args = new ArrayList<>(common);
        args.addAll(List.of(more));
        return TuneEndToEndTest.kiln(args.toArray(String[]::new));
    }

    /** A fresh random token in {@code f}, readable by its owner alone. */
    static Path tokenFile(Path f) throws IOException {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        Files.writeString(f, HexFormat.of().formatHex(b) + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    /** {@code kiln runner ARGS} in a JVM of its own, its output collected line by line. */
    private static final class RunnerProcess {
        final Process process;
        final int port;
        final Path workRoot;
        /** What it printed so far; the reader thread adds to it. */
        private final List<String> shared;

        private RunnerProcess(Process process, int port, Path workRoot, List<String> shared) {
            this.process = process;
            this.port = port;
            this.workRoot = workRoot;
            this.shared = shared;
        }

        static RunnerProcess start(Path dir, String... args) throws Exception {
            String java = ProcessHandle.current().info().command().orElseThrow();
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                    "-cp", System.getProperty("java.class.path"), dev.kiln.driver.Main.class.getName(), "runner"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).directory(dir.toFile()).start();
            CompletableFuture<Integer> port = new CompletableFuture<>();
            CompletableFuture<Path> root = new CompletableFuture<>();
            List<String> lines = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (lines) {
                            lines.add(line);
                            lines.notifyAll();
                        }
                        if (line.startsWith(RunnerMain.LISTENING)) port.complete(Integer.parseInt(line.substring(RunnerMain.LISTENING.length())));
                        int in = line.indexOf(" go to a directory of its own in ");
                        if (in >= 0) root.complete(Path.of(line.substring(in + 33, line.indexOf(", wiped"))));
                    }
                } catch (IOException e) {
                    // the process ended
                }
                port.completeExceptionally(new IOException("kiln runner exited: " + lines));
            }, "kiln-runner-test-output");
            reader.setDaemon(true);
            reader.start();
            return new RunnerProcess(p, port.get(60, TimeUnit.SECONDS), root.get(5, TimeUnit.SECONDS), lines);
        }

        String lines() {
            synchronized (shared) {
                return String.join("\n", shared);
            }
        }

        boolean saw(String text) {
            synchronized (shared) {
                return shared.stream().anyMatch(l -> l.contains(text));
            }
        }

        void awaitLine(String text, int seconds) throws InterruptedException {
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            synchronized (shared) {
                while (shared.stream().noneMatch(l -> l.contains(text)) && System.nanoTime() < end) shared.wait(200);
            }
            assertTrue(saw(text), "the runner never printed '" + text + "':\n" + lines());
        }

        List<Path> sessions() throws IOException {
            try (Stream<Path> s = Files.list(workRoot)) {
                return s.filter(p -> p.getFileName().toString().startsWith("session-")).toList();
            }
        }

        /** SIGTERM, as Ctrl-C: the runner wipes its directory on the way out. */
        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly();
        }
    }
}
