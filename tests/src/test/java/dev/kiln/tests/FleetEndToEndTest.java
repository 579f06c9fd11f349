package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.autotune.db.PostgresCluster;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.driver.Compare;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.Main;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.Npy;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.cpu.ProgramRuntime;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet end to end: two emulated aarch64 boards (qemu) serve {@code kiln tune zoo:mobilenetv2
 * --broker URL --key a72} while an x86 board of another key serves a {@code kiln tune zoo:mlp}
 * beside it, all through one throwaway PostgreSQL. One aarch64 board is killed with kill -9 in the
 * middle and the server is restarted once; both tunes still finish, every job is done, every job
 * that carries a record is recorded exactly once, and the library compiled from the records runs
 * under qemu and matches ONNX Runtime.
 */
class FleetEndToEndTest {
    private static final String ARM = "aarch64-neon:cortex-a72";
    private static final int TRIALS = 48;

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @Test
    void twoEmulatedBoardsAndAnX86BoardSurviveAKilledBoardAndAServerRestart() throws Exception {
        assumeTrue(ProgramRuntime.qemuPath().isPresent(), "qemu-aarch64 is not installed (Debian package qemu-user)");
        try (PostgresCluster server = PostgresCluster.startOrSkip()) {
            String url = server.freshSchema();
            TuningDatabase.open(url).close();
            try {
                Process armA = start("board-a", "runner", "--broker", url, "--key", "a72", "--target", ARM);
                start("board-b", "runner", "--broker", url, "--key", "a72", "--target", ARM);
                start("board-x86", "runner", "--broker", url, "--key", "x86");
                waitFor(() -> count(url, "SELECT COUNT(*) FROM fleet_boards WHERE heartbeat > now() - interval '6 seconds'") == 3, 120,
                        "three boards registered");
                long t0 = System.nanoTime();
                Process arm = start("tune-arm", "tune", "zoo:mobilenetv2", "--broker", url, "--key", "a72", "--trials", "" + TRIALS,
                        "--tuner", "random", "--no-end-to-end", "--plot", dir.resolve("arm.png").toString());
                Process x86 = start("tune-x86", "tune", "zoo:mlp", "--broker", url, "--key", "x86", "--trials", "8", "--tuner", "random",
                        "--no-end-to-end", "--min-repeat-ms", "1", "--plot", dir.resolve("x86.png").toString());
                String boardA = boardOf(url, armA);
                // kill -9 board a while it measures, once it has done some work.
                waitFor(() -> count(url, "SELECT COUNT(*) FROM fleet_boards WHERE board = '" + boardA + "' AND jobs_done >= 4 "
                        + "AND busy_job IS NOT NULL") == 1, 300, "board a busy after four jobs");
                armA.descendants().forEach(ProcessHandle::destroyForcibly);
                armA.destroyForcibly();
                long doneAtKill = count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'done'");
                waitFor(() -> count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'done'") >= doneAtKill + 4, 300, "four more jobs");
                server.restart();
                assertTrue(arm.waitFor(480, TimeUnit.SECONDS), "kiln tune on the aarch64 boards did not finish: " + output("tune-arm"));
                assertEquals(0, arm.exitValue(), output("tune-arm"));
                assertTrue(x86.waitFor(120, TimeUnit.SECONDS), "kiln tune on the x86 board did not finish: " + output("tune-x86"));
                assertEquals(0, x86.exitValue(), output("tune-x86"));
                System.out.printf("fleet tune of mobilenetv2: %.0f s%n", (System.nanoTime() - t0) / 1e9);
            } finally {
                for (Process p : processes) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }

            // No job lost: every job is done (a tuner drops only the queued jobs it no longer waits for, at its end).
            long jobs = count(url, "SELECT COUNT(*) FROM fleet_jobs");
            assertEquals(jobs, count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE state = 'done'"), "jobs left queued or leased");
            // Every job that carries a record wrote exactly one: as many records as such jobs, none twice.
            long recorded = count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE record IS NOT NULL");
            assertEquals(recorded, count(url, "SELECT COUNT(*) FROM tuning_records"), "records vs jobs that carry one");
            assertTrue(count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE board_key = 'x86'") > 0, "the x86 board measured nothing");
            System.out.printf("jobs %d (records %d), taken back from the killed board or failed once: %d, error records: %d%n", jobs, recorded,
                    count(url, "SELECT COUNT(*) FROM fleet_jobs WHERE attempts > 0"),
                    count(url, "SELECT COUNT(*) FROM tuning_records WHERE error_code <> 'NONE'"));
            try (TuningDatabase db = TuningDatabase.open(url)) {
                Set<String> trials = new HashSet<>();
                for (TuningRecord r : db.all())
                    if (r.isTrial())
                        assertTrue(trials.add(r.runId() + " " + r.workloadKey() + " " + r.config() + " " + r.trial()),
                                "trial recorded twice: " + r.workloadKey() + " " + r.config() + " " + r.trial());
                assertTrue(trials.size() >= TRIALS, "trials recorded: " + trials.size());
            }
            compiledLibraryMatchesOnnxRuntime(url);
        }
    }

    /** kiln compile --db on the fleet's records, as a static program run under qemu, against ONNX Runtime on x86. */
    private void compiledLibraryMatchesOnnxRuntime(String url) throws Exception {
        Path exe = dir.resolve("mobilenetv2");
        StringWriter err = new StringWriter();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.out;
        int rc;
        try {
            System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8)); // the compile's summary
            rc = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "compile", "zoo:mobilenetv2",
                    "--target", ARM, "--db", url, "--emit", "exe", "--static", "-o", exe.toString());
        } finally {
            System.setOut(saved);
        }
        String summary = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, rc, summary + "\n" + err);
        assertTrue(summary.contains("tuned configs from tuning database"), summary + "\n" + err);
        Map<String, Tensor> inputs;
        Map<String, Tensor> expected;
        try (KilnLibrary lib = new KilnLibrary(CompiledZoo.get("mobilenetv2").library(), 1);
             OrtModel ort = new OrtModel(Zoo.onnxBytes("mobilenetv2"), 1)) {
            inputs = lib.randomInputs(1);
            expected = ort.run(inputs);
        }
        List<String> cmd = new ArrayList<>(List.of(ProgramRuntime.qemuPath().orElseThrow().toString(), "-cpu", "cortex-a72", exe.toString(),
                "--threads", "1"));
        for (var e : inputs.entrySet()) {
            Path p = dir.resolve("in_" + e.getKey().replaceAll("\\W", "_") + ".npy");
            Npy.write(p, e.getValue());
            cmd.addAll(List.of("--input", e.getKey() + "=" + p));
        }
        Path outDir = dir.resolve("out");
        cmd.addAll(List.of("--output-dir", outDir.toString()));
        Exec.Result r = Exec.run(cmd, 300);
        assertEquals(0, r.code(), r.both());
        for (var e : expected.entrySet()) {
            Compare c = Compare.of(Npy.read(outDir.resolve(Npy.fileName(e.getKey()))), e.getValue(), 1e-4, 1e-3);
            assertTrue(c.ok(), "output " + e.getKey() + ": " + c.detail());
        }
    }

    private Process start(String name, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("KILN_FLEET_LEASE_S", "6");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** The name board {@code p} registered under (host-pid). */
    private static String boardOf(String url, Process p) throws InterruptedException {
        String suffix = "-" + p.pid();
        waitFor(() -> count(url, "SELECT COUNT(*) FROM fleet_boards WHERE board LIKE '%" + suffix + "'") == 1, 60, "board " + p.pid());
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT board FROM fleet_boards WHERE board LIKE '%" + suffix + "'")) {
            rs.next();
            return rs.getString(1);
        } catch (java.sql.SQLException e) {
            throw new AssertionError(e);
        }
    }

    private String output(String name) throws IOException {
        String all = Files.readString(dir.resolve(name + ".log"));
        return all.length() > 6000 ? all.substring(all.length() - 6000) : all;
    }

    private static long count(String url, String sql) {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            return -1; // the server is restarting
        }
    }

    private static void waitFor(BooleanSupplier condition, int seconds, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(250);
        }
    }
}
