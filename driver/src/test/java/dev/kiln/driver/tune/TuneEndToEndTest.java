package dev.kiln.driver.tune;

import dev.kiln.autotune.tune.TaskExtractor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.autotune.runner.RunnerServer;
import dev.kiln.autotune.runner.RunnerToken;
import dev.kiln.driver.Compare;
import dev.kiln.driver.GraphPipeline;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.Main;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.Target;
import dev.kiln.targets.cpu.ProgramRuntime;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln tune zoo:mlp} end to end into a temporary SQLite database: records with costs, a
 * table and a PNG; a second run resumes without measuring any config twice; {@code --report}
 * measures nothing; {@code kiln compile --db} uses the tuned configs and still matches ONNX Runtime.
 */
class TuneEndToEndTest {
    record Run(int code, String out, String err) {}

    static Run kiln(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    /** Trials of {@code model}'s tasks in {@code d}: its records, drift references not counted. */
    static long trials(TuningDatabase d, String model, Target target) {
        long n = 0;
        for (TaskExtractor.Task t : TaskExtractor.fromModel(model, Map.of(), target, GraphPipeline.passes(target)).tasks())
            n += d.count(target.name(), t.key());
        return n;
    }

    /**
     * The configs of a task's trials: each once, except one measured again right after timings that
     * disagreed ({@link WorkloadRecords#trusted}); drift references are the default config again.
     */
    static void noConfigMeasuredTwice(List<TuningRecord> records, TaskExtractor.Task t) {
        Set<String> configs = new HashSet<>(), untrusted = new HashSet<>();
        for (TuningRecord r : records) {
            if (r.isReference()) assertEquals(t.space().defaults().toString(), r.config());
            if (!r.isTrial()) continue; // references re-time the default, confirmations the best
            assertTrue(configs.add(r.config()) || untrusted.contains(r.config()), "config " + r.config() + " of " + t.key() + " measured twice");
            if (r.ok() && !WorkloadRecords.trusted(r)) untrusted.add(r.config());
        }
    }

    @Test
    void tuneResumeReportAndCompileWithTheDatabase(@TempDir Path dir) throws Exception {
        Target target = Target.host();
        Path dbFile = dir.resolve("tuning.db");
        String db = "jdbc:sqlite:" + dbFile;
        Path png = dir.resolve("curve.png");

        Run first = kiln("tune", "zoo:mlp", "--target", target.name(), "--trials", "7", "--tuner", "random",
                "--db", db, "--plot", png.toString(), "--min-repeat-ms", "1");
        assertEquals(0, first.code(), first.err());
        List<TaskExtractor.Task> tasks = TaskExtractor.fromModel("zoo:mlp", Map.of(), target, GraphPipeline.passes(target)).tasks();
        assertFalse(tasks.isEmpty());
        long afterFirst;
        try (TuningDatabase d = TuningDatabase.open(db)) {
            afterFirst = trials(d, "zoo:mlp", target);
            assertTrue(afterFirst >= tasks.size() && afterFirst <= 7, afterFirst + " trials for " + tasks.size() + " tasks");
            for (TaskExtractor.Task t : tasks) {
                List<TuningRecord> rs = d.records(target.name(), t.key());
                assertFalse(rs.isEmpty(), "no record of " + t.key());
                // The default config is measured first, and it is what the reference comes from: it must work.
                assertEquals(t.space().defaults().toString(), rs.getFirst().config());
                assertTrue(rs.getFirst().ok(), rs.getFirst().errorCode() + ": " + rs.getFirst().errorMessage());
                for (TuningRecord r : rs) {
                    assertEquals(r.ok(), !r.costsSeconds().isEmpty());
                    assertTrue(r.tuner().equals("random") || !r.isTrial(), r.tuner());
                    assertEquals(t.flops(), r.flops());
                }
            }
        }
        for (TaskExtractor.Task t : tasks) assertTrue(first.out().contains(t.key()), "table lacks " + t.key() + ":\n" + first.out());
        assertTrue(first.out().contains("speedup"), first.out());
        // The tuned library is timed end to end beside the untuned one, next to the kernels' estimate.
        assertTrue(first.out().matches("(?s).*end to end, measured now on one thread per core: [0-9.]+ ms on default configs, "
                + "[0-9.]+ ms tuned .*calibrated by the default library \\(x [0-9.]+\\): [0-9.]+ ms tuned, [-+][0-9.]+ % of the measured.*"),
                first.out());
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "not a readable image: " + png);
        assertTrue(img.getWidth() > 100 && img.getHeight() > 100);

        // Resume: more trials in the same database; no config of a workload is ever measured twice.
        Run second = kiln("tune", "zoo:mlp", "--target", target.name(), "--trials", "12", "--tuner", "random",
                "--db", db, "--plot", png.toString(), "--min-repeat-ms", "1", "--seed", "1");
        assertEquals(0, second.code(), second.err());
        long afterSecond, records;
        try (TuningDatabase d = TuningDatabase.open(db)) {
            afterSecond = trials(d, "zoo:mlp", target);
            assertTrue(afterSecond > afterFirst && afterSecond <= 12, afterFirst + " then " + afterSecond + " trials");
            for (TaskExtractor.Task t : tasks) noConfigMeasuredTwice(d.records(target.name(), t.key()), t);
            records = d.count();
        }

        // The report reads the database and measures nothing.
        Path png2 = dir.resolve("report.png");
        Run report = kiln("tune", "zoo:mlp", "--report", "--target", target.name(), "--db", db, "--plot", png2.toString());
        assertEquals(0, report.code(), report.err());
        assertTrue(report.out().contains("speedup") && report.out().contains(tasks.getFirst().key()), report.out());
        assertNotNull(ImageIO.read(png2.toFile()));
        try (TuningDatabase d = TuningDatabase.open(db)) {
            assertEquals(records, d.count());
        }

        // The same --trials again: everything asked for is in the database already, so nothing is measured.
        Run again = kiln("tune", "zoo:mlp", "--target", target.name(), "--trials", "12", "--tuner", "random",
                "--db", db, "--plot", png.toString());
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("nothing to measure"), again.err());
        try (TuningDatabase d = TuningDatabase.open(db)) {
            assertEquals(records, d.count());
        }

        // Compile with the database: every tunable kernel has a record; outputs still match.
        Path so = dir.resolve("libmlp.so");
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                    "compile", "zoo:mlp", "--target", target.name(), "--db", db, "-o", so.toString());
        } finally {
            System.setOut(saved);
        }
        String compiled = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, err.toString());
        // Each tunable kernel has a record: it uses it, or keeps its default where the record did not
        // beat the measured default by the margin (timings of a shared machine decide which).
        java.util.regex.Matcher used = java.util.regex.Pattern.compile("(\\d+) kernels? uses? tuned configs").matcher(compiled);
        java.util.regex.Matcher kept = java.util.regex.Pattern.compile("(\\d+) kernels? keeps? the default config").matcher(compiled);
        assertTrue(used.find(), compiled);
        int tunedKernels = Integer.parseInt(used.group(1)), keptKernels = kept.find() ? Integer.parseInt(kept.group(1)) : 0;
        assertEquals(tasks.size(), tunedKernels + keptKernels, compiled);
        assertFalse(compiled.contains("on default configs"), compiled);
        try (KilnLibrary kiln = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(Zoo.onnxBytes("mlp"), 1)) {
            Map<String, Tensor> inputs = kiln.randomInputs(3);
            Map<String, Tensor> expected = ort.run(inputs);
            Map<String, Tensor> actual = kiln.run(inputs);
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(actual.get(e.getKey()), e.getValue(), 1e-4, 1e-3);
                assertTrue(c.ok(), "output " + e.getKey() + " with tuned configs: " + c.detail());
            }
        }
        assertTrue(Files.exists(dbFile));
    }

    /**
     * The tuning benchmark on a small model: each tuner and seed gets its own database with the
     * trials asked for, the table names every run with the untuned library beside it, the figure is
     * a PNG, and a second invocation re-times without tuning again (the databases are kept).
     */
    @Test
    void compareRunsEachTunerFromAnEmptyDatabaseAndTimesTheLibraries(@TempDir Path dir) throws Exception {
        Path cmp = dir.resolve("cmp");
        Run run = kiln("tune", "zoo:mlp", "--compare", "random,xgb", "--seeds", "1", "--trials", "6", "--min-repeat-ms", "1",
                "--compare-dir", cmp.toString());
        assertEquals(0, run.code(), run.err());
        for (String tuner : List.of("random", "xgb")) {
            assertTrue(run.out().matches("(?s).*\\| " + tuner + " \\| 0( \\| [0-9.]+){5} \\| [0-9.]+x \\|.*"), run.out());
            try (TuningDatabase d = TuningDatabase.open("jdbc:sqlite:" + cmp.resolve(tuner + "-s0.db"))) {
                assertEquals(6, trials(d, "zoo:mlp", Target.host()), tuner);
                assertTrue(d.all().stream().filter(TuningRecord::isTrial).allMatch(r -> r.tuner().equals(tuner)), tuner);
            }
        }
        assertTrue(run.out().contains("Untuned library, end to end: ") && run.out().contains("xgb with 40 % of the trials"), run.out());
        assertEquals(run.out().substring(0, run.out().indexOf("wrote ")), Files.readString(cmp.resolve("compare.md")));
        assertNotNull(ImageIO.read(cmp.resolve("compare.png").toFile()));
        Run again = kiln("tune", "zoo:mlp", "--compare", "random", "--seeds", "1", "--trials", "6", "--compare-dir", cmp.toString());
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("nothing to measure"), again.err());
        Run bad = kiln("tune", "zoo:mlp", "--compare", "xgb+transfer", "--compare-dir", cmp.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--transfer-db"), bad.err());
    }

    /**
     * Measuring on a "board": a runner server ({@code kiln runner}'s) in this process, reached over
     * gRPC with {@code --rpc} and its token; then a second, model-based run on the same database, whose cost models
     * start from the first run's records of the other tasks (transfer) and measures only new configs.
     */
    @Test
    void tuneThroughARemoteRunnerThenResumeWithTheCostModel(@TempDir Path dir) throws Exception {
        String db = "jdbc:sqlite:" + dir.resolve("board.db");
        Path token = RunnerCommandTest.tokenFile(dir.resolve("runner.token"));
        try (RunnerServer server = RunnerServer.start(new RunnerServer.Config("127.0.0.1", 0, RunnerToken.fromFile(token), null, null,
                RunnerServer.DEFAULT_MAX_UPLOAD_MB), line -> {})) {
            Run first = kiln("tune", "zoo:mlp", "--rpc", "127.0.0.1:" + server.port(), "--token-file", token.toString(), "--trials", "6",
                    "--tuner", "random", "--db", db, "--plot", dir.resolve("a.png").toString(), "--min-repeat-ms", "1");
            assertEquals(0, first.code(), first.err());
            Run second = kiln("tune", "zoo:mlp", "--rpc", "127.0.0.1:" + server.port(), "--token-file", token.toString(), "--trials", "10",
                    "--tuner", "xgb", "--db", db, "--plot", dir.resolve("b.png").toString(), "--min-repeat-ms", "1");
            assertEquals(0, second.code(), second.err());
        }
        try (TuningDatabase d = TuningDatabase.open(db)) {
            assertEquals(10, trials(d, "zoo:mlp", Target.host()), "6 trials, then 4 more");
            for (TaskExtractor.Task t : TaskExtractor.fromModel("zoo:mlp", Map.of(), Target.host(), GraphPipeline.passes(Target.host())).tasks())
                noConfigMeasuredTwice(d.records(Target.host().name(), t.key()), t);
        }
        Run refused = kiln("tune", "zoo:mlp", "--rpc", "127.0.0.1:1", "--trials", "12", "--db", db);
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("127.0.0.1:1") && refused.err().contains("kiln runner"), refused.err());
    }

    /**
     * A target this machine cannot load: candidates are static aarch64 programs measured under
     * qemu-aarch64, the records are the target's, the output says the figures are emulated, and
     * {@code kiln compile --db} for the target picks the tuned configs up.
     */
    @Test
    void tuneForAarch64UnderQemu(@TempDir Path dir) {
        assumeTrue(ProgramRuntime.qemuPath().isPresent(), "qemu-aarch64 is not installed (Debian package qemu-user)");
        assumeTrue(onPath("aarch64-linux-gnu-gcc"), "aarch64-linux-gnu-gcc is not installed (Debian package gcc-aarch64-linux-gnu)");
        Target target = Target.parse("aarch64-neon");
        String db = "jdbc:sqlite:" + dir.resolve("a64.db");
        Run tune = kiln("tune", "zoo:mlp", "--target", "aarch64-neon", "--trials", "6", "--db", db,
                "--plot", dir.resolve("a64.png").toString());
        assertEquals(0, tune.code(), tune.err());
        assertTrue((tune.out() + tune.err()).contains("emulated"), tune.out() + tune.err());
        assertEquals("aarch64-neon:cortex-a72", target.name());
        try (TuningDatabase d = TuningDatabase.open(db)) {
            assertEquals(6, trials(d, "zoo:mlp", target));
            for (TaskExtractor.Task t : TaskExtractor.fromModel("zoo:mlp", Map.of(), target, GraphPipeline.passes(target)).tasks()) {
                List<TuningRecord> rs = d.records(target.name(), t.key());
                assertFalse(rs.isEmpty(), "no record of " + t.key());
                assertTrue(rs.getFirst().ok(), rs.getFirst().errorCode() + ": " + rs.getFirst().errorMessage());
                for (TuningRecord r : rs) {
                    if (r.ok()) assertTrue(r.costsSeconds().stream().allMatch(c -> c > 0), "costs " + r.costsSeconds());
                    assertTrue(r.deviceKey().contains("qemu-aarch64"), r.deviceKey());
                }
            }
        }
        compileUsesTunedConfigs("aarch64-neon", db, dir.resolve("m.so"));
    }

    /**
     * OpenCL (this machine's first device, PoCL in CI): candidates are one-kernel OpenCL libraries
     * measured in the runner like CPU ones, every default config runs, the records are the
     * device's, and {@code kiln compile --db} for the target picks them up.
     */
    @Test
    void tuneForOpenCl(@TempDir Path dir) {
        Target target;
        try {
            target = Target.parse("opencl");
        } catch (dev.kiln.targets.TargetException e) {
            org.junit.jupiter.api.Assumptions.abort("no OpenCL device here: " + e.getMessage());
            return;
        }
        String db = "jdbc:sqlite:" + dir.resolve("cl.db");
        Run tune = kiln("tune", "zoo:mlp", "--target", "opencl", "--trials", "6", "--db", db, "--plot", dir.resolve("cl.png").toString());
        assertEquals(0, tune.code(), tune.err());
        try (TuningDatabase d = TuningDatabase.open(db)) {
            assertEquals(6, trials(d, "zoo:mlp", target));
            for (TaskExtractor.Task t : TaskExtractor.fromModel("zoo:mlp", Map.of(), target, GraphPipeline.passes(target)).tasks()) {
                List<TuningRecord> rs = d.records(target.name(), t.key());
                assertFalse(rs.isEmpty(), "no record of " + t.key());
                assertTrue(rs.getFirst().ok(), rs.getFirst().errorCode() + ": " + rs.getFirst().errorMessage());
                for (TuningRecord r : rs) if (r.ok()) assertTrue(r.costsSeconds().stream().allMatch(c -> c > 0), "costs " + r.costsSeconds());
            }
        }
        compileUsesTunedConfigs("opencl", db, dir.resolve("m.so"));
    }

    /** kiln compile zoo:mlp for {@code target} with {@code db} succeeds and says its kernels use tuned configs. */
    private static void compileUsesTunedConfigs(String target, String db, Path out) {
        Run r = kilnPrinting("compile", "zoo:mlp", "--target", target, "--db", db, "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("kernels use tuned configs"), r.out());
        assertFalse(r.out().contains("0 kernels use tuned configs"), r.out());
    }

    /** {@link #kiln}, with what the command prints on System.out (as compile does) as its output. */
    static Run kilnPrinting(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        int code;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args);
        } finally {
            System.setOut(saved);
        }
        return new Run(code, captured.toString(StandardCharsets.UTF_8), err.toString());
    }

    private static boolean onPath(String tool) {
        return ProgramRuntime.onPath(tool).isPresent();
    }

    @Test
    void badOptionsGiveClearErrors(@TempDir Path dir) {
        String db = "jdbc:sqlite:" + dir.resolve("t.db");
        Run tuner = kiln("tune", "zoo:mlp", "--tuner", "annealing", "--db", db);
        assertEquals(1, tuner.code());
        assertTrue(tuner.err().contains("unknown tuner 'annealing'") && tuner.err().contains("xgb"), tuner.err());
        Run budget = kiln("tune", "zoo:mlp", "--time-budget", "soon", "--db", db);
        assertEquals(1, budget.code());
        assertTrue(budget.err().contains("bad time budget 'soon'"), budget.err());
        Run unreachable = kiln("tune", "zoo:mlp", "--db", "jdbc:sqlite:" + dir.resolve("no/such/dir/t.db"));
        assertEquals(1, unreachable.code());
        assertTrue(unreachable.err().contains("kiln: error:") && unreachable.err().contains("tuning database"), unreachable.err());
    }
}
