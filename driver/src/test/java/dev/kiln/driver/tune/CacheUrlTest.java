package dev.kiln.driver.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.Provenance;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.pack.Packs;
import dev.kiln.autotune.runner.HostInfo;
import dev.kiln.autotune.tune.KilnVersion;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.driver.GraphPipeline;
import dev.kiln.schedules.space.Config;
import dev.kiln.targets.Target;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code --cache-url} on {@code kiln compile} and {@code kiln tune}, and {@code kiln cache serve}:
 * a compile pulls a served folder's pack once and then finds it up to date; with the server
 * stopped it warns once and compiles from the local records.
 */
class CacheUrlTest {
    static final Target HOST = Target.host();

    @TempDir
    Path dir;

    /** What a command printed, System.out and System.err included (compile prints there). */
    record Run(int code, String out, String err) {
        List<String> warnings() {
            return (out + "\n" + err).lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).contains("warning")).toList();
        }
    }

    static Run kiln(String... args) {
        PrintStream out0 = System.out, err0 = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            TuneEndToEndTest.Run r = TuneEndToEndTest.kiln(args);
            return new Run(r.code(), out.toString(StandardCharsets.UTF_8) + r.out(), err.toString(StandardCharsets.UTF_8) + r.err());
        } finally {
            System.setOut(out0);
            System.setErr(err0);
        }
    }

    /** zoo:mlp's workloads on this machine's target, each with the default (2 ms) and a config that beats it (1 ms). */
    static void tuned(TuningDatabase db) {
        tuned(db, HOST);
    }

    /** As {@link #tuned(TuningDatabase)}, recorded for {@code target}. */
    static void tuned(TuningDatabase db, Target target) {
        for (TaskExtractor.Task t : TaskExtractor.fromModel("zoo:mlp", Map.of(), target, GraphPipeline.passes(target)).tasks()) {
            db.putWorkload(target.name(), t.key(), t.workload().canonical());
            db.append(record(target, t, t.space().defaults(), 2e-3, TuningRecord.REFERENCE));
            db.append(record(target, t, t.space().get(t.space().size() - 1), 1e-3, "random"));
        }
    }

    private static TuningRecord record(Target target, TaskExtractor.Task t, Config c, double seconds, String tuner) {
        String cpu = HostInfo.describe().getCpuModel();
        return new TuningRecord(target.name(), t.key(), t.workload().description(), c.toString(), "", List.of(seconds, seconds),
                ErrorCode.NONE, null, t.flops(), Instant.now(), KilnVersion.get(), "box/" + cpu, tuner, 0, "run-1",
                "threads=1,cache=warm", 2e-3, new Provenance(LlvmModule.llvmVersion(), cpu, "", 8));
    }

    /** A folder holding the pack of {@link #tuned}. */
    Path packs() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("packs"));
        try (TuningDatabase src = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("src.db"))) {
            tuned(src);
            Packs.export(src, folder.resolve("mlp.kpack"), List.of(), null, "0.1.0", LlvmModule.llvmVersion());
        }
        return folder;
    }

    static int deadPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** {@code kiln cache serve} of {@code folder} on a free port, running on a thread of its own until interrupted. */
    static final class Served implements AutoCloseable {
        final StringWriter log = new StringWriter();
        final AtomicInteger code = new AtomicInteger(-1);
        final Thread thread;
        final String url;

        Served(Path folder) throws Exception {
            CommandLine cl = new CommandLine(new CacheServeCommand());
            cl.setOut(new PrintWriter(log, true));
            thread = new Thread(() -> code.set(cl.execute(folder.toString(), "--port", "0")), "serve");
            thread.start();
            Matcher m = null;
            for (int i = 0; i < 200 && (m == null || !m.find()); i++) {
                Thread.sleep(25);
                m = Pattern.compile("read-only at (http://127\\.0\\.0\\.1:\\d+/);").matcher(log.toString());
            }
            assertTrue(m.find(0), log.toString());
            url = m.group(1);
        }

        @Override
        public void close() throws Exception {
            thread.interrupt();
            thread.join(10_000);
            assertFalse(thread.isAlive());
            assertEquals(0, code.get(), log.toString());
        }
    }

    @Test
    void compileWithTheServerStoppedWarnsOnceAndCompilesFromTheLocalRecords() throws Exception {
        String db = "jdbc:sqlite:" + dir.resolve("local.db");
        try (TuningDatabase d = TuningDatabase.open(db)) {
            tuned(d);
        }
        int port = deadPort();
        Run r = kiln("compile", "zoo:mlp", "-o", dir.resolve("m.so").toString(), "--db", db, "--cache-url", "http://127.0.0.1:" + port + "/");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("warning: cannot reach the pack cache http://127.0.0.1:" + port + "/ (connection refused); using the local tuning records"),
                r.warnings(), r.out() + r.err());
        assertTrue(r.out().contains("compiled zoo:mlp") && r.out().matches("(?s).*\\b[1-9]\\d* kernels? uses? tuned configs.*"), r.out());
        assertTrue(Files.isRegularFile(dir.resolve("m.so")));
    }

    @Test
    void compilePullsAServedFolderOnceAndCompilesWithItsConfigs() throws Exception {
        Path folder = packs();
        String db = "jdbc:sqlite:" + dir.resolve("fresh.db");
        Path a = Files.createDirectories(dir.resolve("A")).resolve("m.so"), b = Files.createDirectories(dir.resolve("B")).resolve("m.so");
        try (Served served = new Served(folder)) {
            Run first = kiln("compile", "zoo:mlp", "-o", a.toString(), "--db", db, "--cache-url", served.url);
            assertEquals(0, first.code(), first.err());
            assertEquals(List.of(), first.warnings());
            assertTrue(first.out().contains("pulled from " + served.url + ": 1 pack fetched ("), first.out());
            assertTrue(first.out().matches("(?s).*\\b[1-9]\\d* kernels? uses? tuned configs.*"), first.out());

            Run second = kiln("compile", "zoo:mlp", "-o", b.toString(), "--db", db, "--cache-url", served.url);
            assertEquals(0, second.code(), second.err());
            assertTrue(second.out().contains("pulled from " + served.url + ": 0 packs fetched (0 new records), 1 up to date"), second.out());
            assertEquals(-1, Files.mismatch(a, b), "the same records, the same library");
            assertTrue(served.log.toString().contains("GET /mlp.kpack 304"), served.log.toString());
        }
    }

    /** A VNNI host (x86_64-avx512-vnni) pulls the packs of the target it extends too, and compiles with their configs. */
    @Test
    void aVnniHostPullsThePacksOfTheTargetItExtends() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(HOST.recordTargets().size() > 1, "the host target " + HOST.name() + " extends no other");
        Target base = Target.parse(HOST.recordTargets().get(1));
        Path folder = Files.createDirectories(dir.resolve("base-packs"));
        try (TuningDatabase src = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("base.db"))) {
            tuned(src, base);
            Packs.export(src, folder.resolve("mlp.kpack"), List.of(), null, "0.1.0", LlvmModule.llvmVersion());
        }
        Run r = kiln("compile", "zoo:mlp", "-o", dir.resolve("m.so").toString(), "--db", "jdbc:sqlite:" + dir.resolve("host.db"),
                "--cache-url", folder.toUri().toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("1 pack fetched ("), r.out());
        assertTrue(r.out().matches("(?s).*\\b[1-9]\\d* kernels? uses? tuned configs.*"), r.out());
    }

    @Test
    void compileWithoutDbPullsIntoTheDefaultDatabase() throws Exception {
        Path folder = packs();
        Path home = Files.createDirectories(dir.resolve("home"));
        String saved = System.getProperty("user.home");
        try {
            System.setProperty("user.home", home.toString());
            Run r = kiln("compile", "zoo:mlp", "-o", dir.resolve("m.so").toString(), "--cache-url", folder.toUri().toString());
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("pulled from " + folder.toUri() + ": 1 pack fetched"), r.out());
        } finally {
            System.setProperty("user.home", saved);
        }
        try (TuningDatabase d = TuningDatabase.open("jdbc:sqlite:" + home.resolve(".kiln/tuning.db"))) {
            assertTrue(d.count() > 0);
        }
    }

    @Test
    void tunePullsBeforeItReports() throws Exception {
        Path folder = packs();
        String db = "jdbc:sqlite:" + dir.resolve("t.db");
        Run r = kiln("tune", "zoo:mlp", "--report", "--db", db, "--cache-url", folder.resolve("mlp.kpack").toUri().toString(),
                "--plot", dir.resolve("t.png").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("pulled from " + folder.resolve("mlp.kpack").toUri() + ": 1 pack fetched"), r.err());
        try (TuningDatabase d = TuningDatabase.open(db)) {
            assertTrue(d.count() > 0);
        }
        Run offline = kiln("tune", "zoo:mlp", "--report", "--db", db, "--cache-url", "http://127.0.0.1:" + deadPort() + "/",
                "--plot", dir.resolve("t.png").toString());
        assertEquals(0, offline.code(), offline.err());
        assertEquals(1, offline.warnings().size(), offline.out() + offline.err());
    }

    @Test
    void serveAnswersReadOnlyAndStopsWhenInterrupted() throws Exception {
        Path folder = packs();
        HttpClient client = HttpClient.newHttpClient();
        try (Served served = new Served(folder)) {
            HttpResponse<String> index = client.send(HttpRequest.newBuilder(URI.create(served.url + "index.json")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, index.statusCode());
            assertTrue(index.body().contains("\"name\": \"mlp.kpack\""), index.body());
            HttpResponse<String> put = client.send(HttpRequest.newBuilder(URI.create(served.url + "mlp.kpack"))
                    .PUT(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, put.statusCode());
            assertTrue(served.log.toString().contains("GET /index.json 200") && served.log.toString().contains("PUT /mlp.kpack 405"),
                    served.log.toString());
        }
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new CacheServeCommand());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            err.write(ex.getMessage());
            return 1;
        });
        assertEquals(1, cl.execute(dir.resolve("none").toString(), "--port", "0"));
        assertTrue(err.toString().contains("no folder of packs"), err.toString());
    }
}
