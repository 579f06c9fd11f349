package dev.kiln.driver.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningDbException;
import dev.kiln.autotune.pack.PackPull;
import dev.kiln.autotune.runner.LocalRunner;
import dev.kiln.autotune.runner.RemoteRunner;
import dev.kiln.autotune.runner.Runner;
import dev.kiln.autotune.runner.RunnerException;
import dev.kiln.autotune.runner.RunnerToken;
import dev.kiln.autotune.tune.Durations;
import dev.kiln.autotune.tune.OneNodeBuilder;
import dev.kiln.autotune.tune.ProgramRunner;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.autotune.tune.TuneLoop;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.executor.ExecutorLowering;
import dev.kiln.driver.GraphPipeline;
import dev.kiln.driver.Options;
import dev.kiln.frontend.InputValues;
import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.DeviceRuntime;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln tune}: searches schedule configs of a model's kernels and keeps every measurement in the tuning database. */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Tune the kernels of an ONNX model (or zoo:NAME) for a target: measure schedule configs of each kernel "
                + "and record every measurement in the tuning database, which 'kiln compile --db' then uses.",
                "Running it again on the same database resumes: configs already measured are not measured again."})
public final class TuneCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "model.onnx, or zoo:NAME for a built-in model (see 'kiln zoo')")
    String model;

    @Option(names = "--target", defaultValue = "host", description = "x86_64-avx512, x86_64-avx2, aarch64-neon[:CPU] (measured under qemu-aarch64 here) or host (default: ${DEFAULT-VALUE})")
    String target;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16", description = "the arithmetic the kernels are tuned "
            + "for, as 'kiln compile --precision' (bf16: the bf16 matrix products, on CPUs with AVX-512 BF16) (default: ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--trials", defaultValue = "200", description = "measurements over the whole model, counting those already in the database (default: ${DEFAULT-VALUE})")
    int trials;

    @Option(names = "--tuner", defaultValue = "xgb", description = "xgb (cost model), ga, random or grid (default: ${DEFAULT-VALUE})")
    String tuner;

    @Option(names = "--time-budget", paramLabel = "DURATION", description = "stop after this long, e.g. 90s, 20m, 1h30m")
    String timeBudget;

    @Option(names = "--db", paramLabel = "URL", description = "tuning database: jdbc:sqlite:FILE, jdbc:postgresql://HOST/DB or a file path (default: ~/.kiln/tuning.db)")
    String db;

    @Option(names = "--cache-url", paramLabel = "URL", description = "first pull the target's packs from this pack cache into the database, "
            + "so configs measured elsewhere are there (http(s)://HOST:PORT/ of a 'kiln cache serve', http(s)://HOST/NAME.kpack, "
            + "file:///DIR/ or file:///DIR/NAME.kpack); unreachable, it warns once and tunes with the local records")
    String cacheUrl;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "where to write the tuning curve (default: kiln-tune-<model>.png here)")
    Path plot;

    @Option(names = "--rpc", paramLabel = "HOST:PORT", description = "measure on a board running 'kiln runner --port PORT' (default: a runner process on this machine)")
    String rpc;

    @Option(names = "--broker", paramLabel = "URL", description = "measure on a fleet of boards: the team's PostgreSQL "
            + "(jdbc:postgresql://HOST/DB) where 'kiln runner --broker URL --key K' boards take jobs; records go there too")
    String broker;

    @Option(names = "--key", paramLabel = "K", description = "with --broker: the key of the boards to measure on (e.g. rk3588); "
            + "the target is theirs")
    String key;

    /** The boards of --broker, open while the command runs. */
    dev.kiln.autotune.fleet.FleetRunner fleet;

    @Option(names = "--token-file", paramLabel = "FILE", description = "with --rpc: the runner's token (the file its --token-file reads, "
            + "readable by you alone; default: $KILN_RUNNER_TOKEN)")
    Path tokenFile;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "with --rpc: speak TLS and trust exactly this certificate, the runner's "
            + "(the runner.crt of 'kiln runner --gen-cert')")
    Path tlsCert;

    @Option(names = "--report", description = "print the table and plot from the database without measuring")
    boolean report;

    @Option(names = "--input-shape", paramLabel = "NAME=D1,D2,..", description = "bind an input's dynamic dimensions (repeatable)")
    List<String> inputShapes;

    @Option(names = "--input-value", paramLabel = "NAME=V1,V2,..", description = "bind an input that decides shapes or control flow "
            + "to these values, as kiln compile --input-value does (repeatable)")
    List<String> inputValues;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the search (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--threads", defaultValue = "0", description = "threads each candidate runs on, as the library will: "
            + "kiln_model_create's num_threads (default: ${DEFAULT-VALUE}, one per core of the measuring machine)")
    int threads;

    @Option(names = "--cache", defaultValue = "warm", description = "what a candidate finds in the caches: warm (runs back to back), "
            + "model (the model's weights and workspace read through before each run, then the kernel's inputs and outputs, "
            + "as the library's other kernels leave the caches) or cold (as model, inputs and outputs not read back) (default: ${DEFAULT-VALUE})")
    String cache;

    @Option(names = "--end-to-end", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "after tuning, time the model's library on default and on tuned configs end to end, with the same runner "
                    + "and threads (default: on; --no-end-to-end skips it)")
    boolean endToEnd;

    @Option(names = "--compare", paramLabel = "TUNERS", split = ",", description = "the tuning benchmark: tune with each of these tuners "
            + "(random, ga, xgb, xgb+transfer, grid) from an empty database, --seeds times each, with the same --trials; then time every "
            + "tuned library (at 40 %% and 100 %% of the trials) and the untuned one end to end, taking turns; writes compare.png and "
            + "compare.md to --compare-dir")
    List<String> compare;

    @Option(names = "--seeds", defaultValue = "3", description = "with --compare: runs per tuner, seeds 0.. (default: ${DEFAULT-VALUE})")
    int seeds;

    @Option(names = "--compare-dir", paramLabel = "DIR", description = "with --compare: where each run's database, compare.png and "
            + "compare.md go; a run whose database is there already is not tuned again (default: kiln-compare-<model>)")
    Path compareDir;

    @Option(names = "--transfer-db", paramLabel = "URL", description = "with --compare xgb+transfer: a database holding an earlier tune of "
            + "another model, whose records the cost model learns from")
    String transferDb;

    @Option(names = "--transfer-model", paramLabel = "MODEL", description = "with --compare xgb+transfer: the model --transfer-db was tuned for")
    String transferModel;

    @Option(names = "--min-repeat-ms", defaultValue = "20", hidden = true, description = "shortest timed repeat of a measurement")
    double minRepeatMs;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (broker != null) fleet = FleetTune.open(this);
        try {
            return run();
        } finally {
            if (fleet != null) fleet.close();
        }
    }

    private Integer run() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Target t = fleet != null ? Target.parse(fleet.target()) : Target.parse(target);
        if (report && db == null && !Files.isRegularFile(Databases.defaultFile()))
            throw new KilnException("there is no tuning database at " + Databases.defaultFile()
                    + " to report on: tune first (kiln tune " + model + "), or name the database with --db");
        TuneLoop.Cache.of(cache, 0); // refuses an unknown mode before any work
        if (rpc == null && (tokenFile != null || tlsCert != null))
            throw new KilnException("--token-file and --tls-cert are for a runner on a board: they go with --rpc HOST:PORT");
        TaskExtractor.Extracted ex = TaskExtractor.fromModel(model, Options.inputShapes(inputShapes), InputValues.parse(inputValues), t,
                GraphPipeline.passes(t, dev.kiln.driver.Precision.parse(precision)));
        try (TuningDatabase database = Databases.open(fleet != null ? broker : db)) {
            if (cacheUrl != null) {
                PackPull.pullFor(cacheUrl, database, t.recordTargets(), err::println).forEach(err::println);
            }
            EndToEnd.Result measured = null;
            if (ex.tasks().isEmpty()) {
                out.println("nothing to tune: no kernel of " + model + " has more than one schedule config on " + t.name());
                return 0;
            }
            if (compare != null) return compare(t, ex, out, err);
            if (!report) {
                TuneLoop.Settings settings = new TuneLoop.Settings(trials, tuner, budget(), seed, minRepeatMs, threads,
                        cache(t, ex.graph()));
                err.printf("tuning %d tasks of %s (%d of %d kernels) on %s with %s, %d trials%s, %s, %s caches; records go to %s%n",
                        ex.tasks().size(), model, ex.covered(), ex.kernels(), t.name(), tuner, trials,
                        settings.budget() == null ? "" : " or " + Durations.format(settings.budget()),
                        EndToEnd.threads(threads),
                        settings.cache().evictBytes() > 0 ? String.format(java.util.Locale.ROOT, "%s (%.1f MB evicted before each run)",
                                settings.cache().mode(), settings.cache().evictBytes() / 1e6) : "warm", database);
                measured = tune(t, database, settings, ex, err);
            }
            List<Report.Row> rows = Report.rows(ex.tasks(), database, t);
            out.print(Report.table(rows));
            if (measured != null) out.println(EndToEnd.summary(measured, Report.totals(rows), threads));
            Path png = plot != null ? plot : Path.of("kiln-tune-" + modelName(model) + ".png");
            try {
                Plot.write(rows, "kiln tune " + model + " on " + t.name(), png, measured);
            } catch (IOException e) {
                throw new KilnException("cannot write the tuning curve to " + png + ": " + e.getMessage(), e);
            }
            out.println("wrote the tuning curve to " + png.toAbsolutePath());
            if (!t.canRunOnHost() && emulated(t))
                out.println("figures measured under " + DeviceRuntime.forTarget(t).describe()
                        + ": they prove the plumbing, not the speed of a real board");
            return 0;
        } catch (TuningDbException e) {
            throw new KilnException(e.getMessage(), e);
        }
    }

    /**
     * A target this machine can load code of is tuned as today: libraries in a runner process (or on a
     * board with --rpc). Any other is tuned with programs run by its device runtime, e.g. under qemu.
     */
    private EndToEnd.Result tune(Target t, TuningDatabase database, TuneLoop.Settings settings, TaskExtractor.Extracted ex, PrintWriter err) {
        List<TaskExtractor.Task> tasks = ex.tasks();
        if (fleet != null) return FleetTune.tune(fleet, t, database, settings, tasks, err);
        if (!t.canRunOnHost()) {
            if (rpc != null)
                throw new KilnException("--rpc measures model libraries on a board running 'kiln runner'; " + t.name()
                        + " is tuned here with programs under its device runtime instead. Drop --rpc, or run 'kiln tune' "
                        + "on a machine of that kind (e.g. the board itself).");
            DeviceRuntime runtime;
            try {
                runtime = DeviceRuntime.forTarget(t);
            } catch (TargetException e) {
                throw new KilnException("cannot tune for " + t.name() + " here: " + e.getMessage(), e);
            }
            try (ProgramRunner runner = new ProgramRunner(runtime, t)) {
                new TuneLoop(t, database, OneNodeBuilder::program, runner, settings, Progress.to(err)).run(tasks);
            }
            return null; // timings under an emulator say nothing end to end
        }
        try (Runner runner = rpc == null ? new LocalRunner() : remote(rpc, tokenFile, tlsCert)) {
            new TuneLoop(t, database, runner, settings, Progress.to(err)).run(tasks);
            if (!endToEnd) return null;
            err.println("timing the model's library end to end on default and on tuned configs (--no-end-to-end skips this)");
            return EndToEnd.measure(model, Options.inputShapes(inputShapes), InputValues.parse(inputValues), t, dev.kiln.driver.Precision.parse(precision),
                    database, runner, threads, ex.graph().inputs().size());
        } catch (RunnerException e) {
            throw new KilnException("the measurement runner failed: " + e.getMessage()
                    + ". Every measurement so far is in " + database + "; run the same command again to resume.", e);
        }
    }

    /** {@code --compare}: the tuning benchmark ({@link Compare}) on a runner of this machine. */
    private int compare(Target t, TaskExtractor.Extracted ex, PrintWriter out, PrintWriter err) {
        if (rpc != null || !t.canRunOnHost())
            throw new KilnException("--compare times libraries end to end on this machine: drop --rpc, and choose a target it runs");
        if (seeds < 1) throw new KilnException("--seeds must be at least 1, got " + seeds);
        if ((transferDb == null) != (transferModel == null))
            throw new KilnException("--transfer-db and --transfer-model go together: the database of an earlier tune and its model");
        TuneLoop.Settings settings = new TuneLoop.Settings(trials, "xgb", budget(), seed, minRepeatMs, threads, cache(t, ex.graph()));
        Path dir = compareDir != null ? compareDir : Path.of("kiln-compare-" + modelName(model));
        Compare.Transfer transfer = transferDb == null ? null : new Compare.Transfer(transferModel, transferDb);
        try (Runner runner = new LocalRunner()) {
            out.print(Compare.run(model, Options.inputShapes(inputShapes), InputValues.parse(inputValues), t, ex, compare, seeds, settings, transfer, dir, runner, err));
        }
        out.println("wrote " + dir.resolve("compare.png").toAbsolutePath() + " and " + dir.resolve("compare.md").toAbsolutePath());
        return 0;
    }

    /**
     * The --cache mode for a CPU target this machine runs (a GPU library is timed by its device
     * clock, a program under an emulator by the emulator: both run warm).
     */
    private TuneLoop.Cache cache(Target t, Graph g) {
        if (cache.equals("warm") || !(t instanceof CpuTarget) || !t.canRunOnHost()) return TuneLoop.Cache.WARM;
        return TuneLoop.Cache.of(cache, footprint(g, t));
    }

    /**
     * Bytes the model's library touches per inference on default configs: its weights and its
     * workspace (intermediate tensors and kernel scratch, as planned), what the other kernels of an
     * inference pass through the caches between two runs of one kernel.
     */
    static long footprint(Graph g, Target t) {
        ExecutorLowering.Plan plan = ExecutorLowering.run(g, t, (name, f) -> {});
        long weights = 0;
        for (ModuleSpec.Constant c : plan.spec().constants()) weights += c.data().length;
        return weights + plan.workspaceBytes();
    }

    /**
     * A runner on a board: {@code HOST:PORT} of a {@code kiln runner}, with its token (from
     * {@code tokenFile}, else $KILN_RUNNER_TOKEN) and, for TLS, its certificate; checked with a first call.
     */
    static Runner remote(String hostPort, Path tokenFile, Path tlsCert) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1)
            throw new KilnException("--rpc '" + hostPort + "' should be HOST:PORT of a 'kiln runner' (e.g. board1:9190)");
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new KilnException("--rpc '" + hostPort + "': the port is not a number", e);
        }
        RemoteRunner r;
        try {
            RunnerToken token = RunnerToken.fromFileOrEnvironment(tokenFile).orElse(null);
            r = new RemoteRunner(hostPort.substring(0, colon), port, new RemoteRunner.Credentials(token, tlsCert));
        } catch (RunnerException e) {
            throw new KilnException(e.getMessage(), e);
        }
        try {
            r.info();
        } catch (RuntimeException e) {
            r.close();
            throw new KilnException(e.getMessage(), e);
        }
        return r;
    }

    /** Whether {@code target}'s programs run under an emulator here (false when nothing here can run them). */
    private static boolean emulated(Target target) {
        try {
            return DeviceRuntime.forTarget(target).emulated();
        } catch (TargetException e) {
            return false;
        }
    }

    private Duration budget() {
        return timeBudget == null ? null : Durations.parse(timeBudget);
    }

    /** {@code zoo:mlp} to {@code mlp}, {@code dir/net.onnx} to {@code net}. */
    static String modelName(String model) {
        if (ModelSource.isZoo(model)) return model.substring(ModelSource.ZOO_PREFIX.length());
        String f = Path.of(model).getFileName().toString();
        return f.endsWith(".onnx") ? f.substring(0, f.length() - 5) : f;
    }
}
