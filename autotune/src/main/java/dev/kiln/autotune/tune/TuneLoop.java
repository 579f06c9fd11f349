package dev.kiln.autotune.tune;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.Provenance;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.autotune.model.GbtCostModel;
import dev.kiln.autotune.model.TaskSamples;
import dev.kiln.autotune.runner.Runner;
import dev.kiln.autotune.runner.proto.Expected;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.TensorData;
import dev.kiln.autotune.tuner.GaTuner;
import dev.kiln.autotune.tuner.GridTuner;
import dev.kiln.autotune.tuner.ModelBasedTuner;
import dev.kiln.autotune.tuner.RandomTuner;
import dev.kiln.autotune.tuner.TaskScheduler;
import dev.kiln.autotune.tuner.Tuner;
import dev.kiln.irhigh.KilnException;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The tuning loop of {@code kiln tune}: for each task, the default config is measured first (its
 * outputs become the reference every candidate is checked against), earlier records of the
 * workload are fed to the tuner so nothing is measured twice, and then {@link TaskScheduler}
 * hands out the trial budget round by round. Each round's candidates are built in parallel and
 * measured one at a time; every measurement, failed or not, is committed to the database at once.
 */
public final class TuneLoop {
    /** The tuners {@code --tuner} accepts. */
    public static final List<String> TUNERS = List.of("xgb", "ga", "random", "grid");

    /**
     * How to tune. {@code trials}: total over the model, counting measurements already in the
     * database; {@code budget}: wall-clock limit (null for none); {@code threads}: the threads a
     * candidate runs on, as the library will ({@code 0}: one per core of the measuring machine,
     * the library's default).
     */
    public record Settings(int trials, String tuner, Duration budget, long seed, double minRepeatMs, int threads, Cache cache) {
        public Settings {
            java.util.Objects.requireNonNull(cache, "cache");
            if (!TUNERS.contains(tuner))
                throw new KilnException("unknown tuner '" + tuner + "': choose one of " + String.join(", ", TUNERS));
            if (trials < 0) throw new KilnException("--trials must be at least 0, got " + trials);
            if (threads < 0) throw new KilnException("--threads must be at least 0 (0: one per core), got " + threads);
        }

        public Settings(int trials, String tuner, Duration budget, long seed, double minRepeatMs) {
            this(trials, tuner, budget, seed, minRepeatMs, 0, Cache.WARM);
        }
    }

    /**
     * What a candidate finds in the caches when it runs ({@code kiln tune --cache}). {@code evictBytes}:
     * what is read through before each timed run (0 for none); {@code warmInputs}: whether its
     * inputs and outputs are read back afterwards.
     */
    public record Cache(String mode, long evictBytes, boolean warmInputs) {
        /** Runs back to back: everything the kernel reads stays in cache (its weights too). */
        public static final Cache WARM = new Cache("warm", 0, false);

        /** The modes {@code --cache} accepts. */
        public static final List<String> MODES = List.of("model", "warm", "cold");

        /**
         * The mode named {@code mode} for a model whose library touches {@code footprintBytes} per
         * inference (weights and workspace): {@code model} evicts that footprint and re-reads the
         * inputs and outputs, as the library's other kernels leave the caches between two runs of
         * this one; {@code cold} evicts it and leaves them cold too; {@code warm} runs back to back.
         */
        public static Cache of(String mode, long footprintBytes) {
            return switch (mode) {
                case "warm" -> WARM;
                case "model" -> new Cache(mode, footprintBytes, true);
                case "cold" -> new Cache(mode, footprintBytes, false);
                default -> throw new KilnException("unknown --cache '" + mode + "': choose one of " + String.join(", ", MODES));
            };
        }
    }

    /** What tuning one task came to. */
    public record TaskResult(TaskExtractor.Task task, int trials, int errors, double defaultGflops, double bestGflops,
                             String skipped) {}

    private static final double RTOL = 1e-3;
    private static final double ATOL = 1e-4;
    private static final int MAX_ROUND = 16;
    /**
     * Trials a round gives a task at least (when the budget has them): each round also re-measures
     * the task's default as its drift reference, so rounds of one or two trials would spend a third
     * of the run on references.
     */
    private static final int MIN_ROUND = 4;
    /**
     * Timings per candidate: at least {@value #MIN_REPEAT}, more (up to {@value #MAX_REPEAT})
     * while the relative standard error of their mean is above {@value #TARGET_RSE}, so a
     * candidate timed during a burst of noise is timed again rather than trusted.
     */
    static final int MIN_REPEAT = 3, MAX_REPEAT = 12;

    static final double TARGET_RSE = 0.01;

    /** Untimed runs before timing: the first runs of a fresh runner pay for thread-pool start-up and cold caches. */
    private static final int WARMUP = 3;

    private final Target target;
    private final TuningDatabase db;
    private final CandidateBuilder.Factory builders;
    private final CandidateRunner runner;
    private final Settings settings;
    private final TuneProgress progress;
    private final String runId = UUID.randomUUID().toString();
    private String deviceKey;
    private Provenance provenance = Provenance.NONE;
    // The run's clock and counts: trials found in the database, trials to add, trials measured so far.
    private long start;
    private int already;
    private int budget;
    private int measured;

    /** Tunes with candidates built as libraries and measured by {@code runner} (a runner process here, or a board). */
    public TuneLoop(Target target, TuningDatabase db, Runner runner, Settings settings, TuneProgress progress) {
        this(target, db, OneNodeBuilder::library, CandidateRunner.libraries(runner), settings, progress);
    }

    /** Tunes with candidates from {@code builders}, measured by {@code runner}, which must run what they build. */
    public TuneLoop(Target target, TuningDatabase db, CandidateBuilder.Factory builders, CandidateRunner runner, Settings settings,
                    TuneProgress progress) {
        this.target = target;
        this.db = db;
        this.builders = builders;
        this.runner = runner;
        this.settings = settings;
        this.progress = progress;
    }

    /** The state of one task while tuning. */
    private final class TaskState {
        final int index;
        final TaskExtractor.Task task;
        final CandidateBuilder builder;
        final Tuner tuner;
        List<ByteString> reference;
        /** The default config, built once: measured again before each round as the drift reference. */
        Candidate defaults;
        /** The default config's cost level (seconds) the tuner's throughputs are scaled to ({@link WorkloadRecords}). */
        double level;
        int done;
        int errors;
        double defaultGflops;
        double bestGflops;
        String skipped;
        boolean exhausted;

        TaskState(int index, TaskExtractor.Task task, Path dir) {
            this.index = index;
            this.task = task;
            this.builder = builders.create(task, target, dir);
            this.tuner = newTuner(task.space(), builder, () -> transferFor(task));
        }

        double bestLatency() {
            return bestGflops > 0 ? task.flops() / (bestGflops * 1e9) : Double.NaN;
        }

        TaskResult result() {
            return new TaskResult(task, done, errors, defaultGflops, bestGflops, skipped);
        }
    }

    /**
     * Tunes the tasks until the model has {@code trials} measurements in the database (or the
     * time budget is spent); returns what each task came to (empty when there was nothing to do).
     */
    public List<TaskResult> run(List<TaskExtractor.Task> tasks) {
        start = System.nanoTime();
        long prior = 0;
        for (TaskExtractor.Task t : tasks) prior += db.count(target.name(), t.key());
        if (prior >= settings.trials()) {
            progress.note(prior + " measurements of these kernels are already in " + db + ", as many as --trials "
                    + settings.trials() + " asks for: nothing to measure. Raise --trials to tune further.");
            return List.of();
        }
        deviceKey = runner.info().getDeviceKey();
        provenance = RunProvenance.of(target, runner.info(), settings.trials());
        // A pack exported later rebuilds each kernel from its canonical form to check configs against its space.
        for (TaskExtractor.Task t : tasks) db.putWorkload(target.name(), t.key(), t.workload().canonical());
        if (runner.emulated())
            progress.note("measured under " + runner.describe() + ": figures prove the plumbing, not the speed of a real board");
        Path dir;
        try {
            dir = Files.createTempDirectory("kiln-tune-");
            dir.toFile().deleteOnExit(); // after Ctrl-C too; each library is deleted as soon as it is read
        } catch (IOException e) {
            throw new KilnException("cannot create a temporary directory for candidates: " + e.getMessage(), e);
        }
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "kiln-tune-build");
            t.setDaemon(true);
            return t;
        });
        try {
            if (settings.tuner().equals("xgb")) priorSamples(tasks, dir);
            List<TaskState> states = new ArrayList<>();
            for (int i = 0; i < tasks.size() && !overBudget(); i++) {
                TaskState s = new TaskState(i, tasks.get(i), dir);
                states.add(s);
                progress.begin(i, tasks.size(), tasks.get(i));
                prepare(s);
                progress.update(s.done, states.stream().mapToInt(x -> x.done).sum(), settings.trials(), s.bestGflops, Double.NaN);
                progress.end();
            }
            List<TaskState> live = states.stream().filter(s -> s.skipped == null).toList();
            already = states.stream().mapToInt(s -> s.done).sum();
            budget = Math.max(0, settings.trials() - already);
            // A task whose space runs out returns unused trials; a fresh scheduler hands them to the others.
            while (measured < budget && !overBudget()) {
                List<TaskState> open = live.stream().filter(s -> !s.exhausted).toList();
                if (open.isEmpty()) break;
                int before = measured;
                schedule(open, tasks.size(), pool);
                if (measured == before) break;
            }
            if (overBudget()) progress.note("time budget of " + Durations.format(settings.budget()) + " spent; stopping");
            confirm(live, pool);
            return states.stream().map(TaskState::result).toList();
        } finally {
            pool.shutdownNow();
            deleteQuietly(dir);
        }
    }

    /** Runs one task scheduler over the open tasks until its budget (what is left of the run's) is handed out. */
    private void schedule(List<TaskState> open, int taskCount, ExecutorService pool) {
        List<TaskScheduler.Task> stasks = open.stream()
                .map(s -> new TaskScheduler.Task(s.task.key(), s.task.weight(), s.bestLatency(), s.task.flops())).toList();
        int round = Math.clamp((budget - measured) / open.size(), MIN_ROUND, MAX_ROUND);
        TaskScheduler scheduler = new TaskScheduler(stasks, budget - measured, round);
        while (scheduler.hasNext() && !overBudget()) {
            TaskScheduler.Round r = scheduler.next();
            TaskState s = open.get(r.task());
            List<Config> configs = s.tuner.next(r.trials());
            if (!configs.isEmpty()) {
                progress.begin(s.index, taskCount, s.task);
                measureRound(s, configs, pool);
                progress.end();
            }
            if (configs.isEmpty() || !s.tuner.hasNext()) {
                s.exhausted = true;
                scheduler.exhausted(r.task());
            }
            scheduler.update(r.task(), s.bestLatency());
        }
    }

    /**
     * Builds a round's candidates in parallel and measures them one by one, committing each record.
     * Where the measurements run on this machine's cores, every build finishes before the first
     * measurement starts: a compile on one core while a kernel is timed on both would slow that
     * kernel by whatever share the compile takes, differently for each candidate. A board's
     * measurements overlap the builds of the next candidates.
     */
    private void measureRound(TaskState s, List<Config> configs, ExecutorService pool) {
        List<Future<Candidate>> built = new ArrayList<>();
        for (Config c : configs) built.add(pool.submit(() -> s.builder.build(c)));
        if (runner.sharesCores()) for (Future<Candidate> f : built) get(f);
        double reference = measureReference(s);
        List<Config> done = new ArrayList<>();
        List<Double> gflops = new ArrayList<>();
        if (runner.parallelism() > 1) {
            measureConcurrently(s, built, reference, done, gflops);
            addSamples(s, done, gflops);
            s.tuner.update(done, gflops);
            return;
        }
        for (Future<Candidate> f : built) {
            if (overBudget() || measured >= budget) break;
            Candidate c = get(f);
            TuningRecord rec = measure(s, c, reference);
            done.add(c.config());
            gflops.add(scaled(s, rec));
            reportProgress(s);
        }
        for (Future<Candidate> f : built) f.cancel(false);
        addSamples(s, done, gflops);
        s.tuner.update(done, gflops);
    }

    /** The progress line after a measurement of {@code s}: trials so far and the time left at this pace. */
    private void reportProgress(TaskState s) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        double left = (budget - measured) * elapsed / measured;
        if (settings.budget() != null) left = Math.min(left, settings.budget().toSeconds() - elapsed);
        progress.update(s.done, already + measured, already + budget, s.bestGflops, Math.max(0, left));
    }

    /**
     * Measures a round's candidates on several boards at once ({@link CandidateRunner#parallelism}
     * in flight), then takes their records in order, as one at a time would. Each candidate's trial
     * number is fixed when it is sent; a record with a wide spread is kept as it is (measuring it
     * again would give a later candidate's number twice).
     */
    private void measureConcurrently(TaskState s, List<Future<Candidate>> built, double reference, List<Config> done, List<Double> gflops) {
        int n = Math.min(built.size(), budget - measured);
        ExecutorService measurers = Executors.newFixedThreadPool(runner.parallelism(), r -> {
            Thread t = new Thread(r, "kiln-tune-measure");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Candidate> candidates = new ArrayList<>();
            List<RecordTemplate> templates = new ArrayList<>();
            List<Future<CandidateRunner.Measurement>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Candidate c = get(built.get(i));
                RecordTemplate t = template(s, c, reference, settings.tuner(), false);
                RecordTemplate numbered = new RecordTemplate(t.base().withTrial(s.done + i), false);
                candidates.add(c);
                templates.add(numbered);
                MeasureRequest req = c.ok() ? request(s, c, s.reference, false) : null;
                results.add(c.ok() ? measurers.submit(() -> runner.measure(c, req, numbered)) : null);
            }
            for (int i = 0; i < n; i++) {
                if (overBudget()) break;
                Candidate c = candidates.get(i);
                TuningRecord rec = c.ok() ? templates.get(i).complete(getMeasurement(results.get(i))) : failedBuild(templates.get(i), c);
                append(s, rec);
                measured++;
                s.bestGflops = Math.max(s.bestGflops, scaled(s, rec));
                done.add(c.config());
                gflops.add(scaled(s, rec));
                reportProgress(s);
            }
        } finally {
            measurers.shutdownNow();
            for (Future<Candidate> f : built) f.cancel(false);
        }
    }

    private static CandidateRunner.Measurement getMeasurement(Future<CandidateRunner.Measurement> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("tuning was interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new KilnException("measuring a candidate failed unexpectedly: " + e.getCause(), e.getCause());
        }
    }

    /**
     * Times the best config of each task again ({@value #CONFIRMATIONS} times, each after a drift
     * reference), where it is not the default: the best of many noisy timings is partly the luck of
     * the draw, and its config counts at the median of all its timings ({@link WorkloadRecords}),
     * so a config that won by chance loses its place here rather than in the user's library.
     */
    private void confirm(List<TaskState> live, ExecutorService pool) {
        List<TaskState> tasks = new ArrayList<>();
        List<Future<Candidate>> built = new ArrayList<>();
        for (TaskState s : live) {
            Optional<TuningRecord> best = new WorkloadRecords(db.records(target.name(), s.task.key()), s.task.space().defaults().toString()).best();
            if (best.isEmpty() || best.get().config().equals(s.task.space().defaults().toString())) continue;
            Config c;
            try {
                c = Config.parse(best.get().config());
                s.task.space().check(c);
            } catch (IllegalArgumentException e) {
                continue; // a record of another version of the template: kiln compile will not use it either
            }
            tasks.add(s);
            built.add(pool.submit(() -> s.builder.build(c)));
        }
        if (tasks.isEmpty()) return;
        if (runner.sharesCores()) for (Future<Candidate> f : built) get(f);
        progress.note("timing the best config of " + tasks.size() + " task" + (tasks.size() == 1 ? "" : "s") + " again, beside its default");
        for (int i = 0; i < tasks.size(); i++) {
            TaskState s = tasks.get(i);
            Candidate c = get(built.get(i));
            if (!c.ok()) continue;
            for (int k = 0; k < CONFIRMATIONS; k++) {
                double reference = measureReference(s);
                RecordTemplate t = template(s, c, reference, TuningRecord.CONFIRM, false);
                db.append(t.complete(runner.measure(c, request(s, c, s.reference, false), t)));
            }
        }
    }

    /**
     * What {@link #verify} measured of one workload: its default config and the config a compile
     * uses, each timed here now (seconds per run) beside what its record says; {@code error} says
     * why a timing is missing (NaN then).
     */
    public record Verified(TaskExtractor.Task task, String config, double measured, double recorded, double defaultMeasured,
                           double defaultRecorded, String error) {}

    /**
     * Times {@code config} of {@code task} here, and its default config first (whose outputs the
     * config's must match), without writing any record: how far the records of another machine or
     * day are from this one. {@code recorded} and {@code defaultRecorded}: the records' mean costs
     * (NaN where there is none).
     */
    public Verified verify(TaskExtractor.Task task, Config config, double recorded, double defaultRecorded) {
        Path dir;
        try {
            dir = Files.createTempDirectory("kiln-verify-");
        } catch (IOException e) {
            throw new KilnException("cannot create a temporary directory for candidates: " + e.getMessage(), e);
        }
        try {
            TaskState s = new TaskState(0, task, dir);
            Candidate def = s.builder.build(task.space().defaults());
            if (!def.ok()) return new Verified(task, config.toString(), Double.NaN, recorded, Double.NaN, defaultRecorded,
                    "the default config does not build: " + def.message());
            runner.measure(def, request(s, def, null, false)); // warms the runner; not kept
            MeasureResult d = runner.measure(def, request(s, def, null, true));
            if (d.getStatus() != MeasureResult.Status.OK)
                return new Verified(task, config.toString(), Double.NaN, recorded, Double.NaN, defaultRecorded,
                        "the default config failed: " + d.getError());
            double defaultMeasured = d.getCostsList().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            Candidate c = config.toString().equals(task.space().defaults().toString()) ? def : s.builder.build(config);
            if (!c.ok()) return new Verified(task, config.toString(), Double.NaN, recorded, defaultMeasured, defaultRecorded,
                    "the config does not build: " + c.message());
            MeasureResult m = runner.measure(c, request(s, c, d.getOutputsList(), false));
            if (m.getStatus() != MeasureResult.Status.OK)
                return new Verified(task, config.toString(), Double.NaN, recorded, defaultMeasured, defaultRecorded,
                        errorCode(m.getStatus()) + ": " + m.getError());
            double measured = m.getCostsList().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            return new Verified(task, config.toString(), measured, recorded, defaultMeasured, defaultRecorded, null);
        } finally {
            deleteQuietly(dir);
        }
    }

    /** Timings of a task's best config at the end of a tune ({@link #confirm}). */
    static final int CONFIRMATIONS = 2;

    /**
     * Measures the task's default config again and commits it as a drift reference (not a trial);
     * returns its mean cost, which the round's records carry, or 0 if it failed this time.
     */
    private double measureReference(TaskState s) {
        RecordTemplate t = template(s, s.defaults, 0, TuningRecord.REFERENCE, true);
        TuningRecord rec = t.complete(runner.measure(s.defaults, request(s, s.defaults, s.reference, false), t));
        db.append(rec);
        return rec.ok() ? rec.meanCost() : 0;
    }

    /**
     * The throughput the tuner learns from: the record's at the task's level, corrected by the
     * round's reference ({@link WorkloadRecords#cost}); 0 for an error record or an untrusted one.
     */
    private static double scaled(TaskState s, TuningRecord r) {
        if (!WorkloadRecords.trusted(r)) return 0;
        double cost = WorkloadRecords.cost(r, s.level);
        return cost > 0 ? r.flops() / cost / 1e9 : 0;
    }

    /**
     * Feeds the database's records of the task to its tuner (on the drift-corrected scale of
     * {@link WorkloadRecords}), then measures the default config for the reference outputs: a trial
     * if the database has no measurement of it yet, else a drift reference.
     */
    private void prepare(TaskState s) {
        String key = s.task.key();
        ConfigSpace space = s.task.space();
        Config defaults = space.defaults();
        Candidate c = s.builder.build(defaults);
        // The first measurement of a fresh runner pays for its JIT compiling the measuring loop: not one to keep.
        if (s.index == 0 && c.ok()) runner.measure(c, request(s, c, null, true));
        boolean known = db.measuredConfigs(target.name(), key).contains(defaults.toString());
        RecordTemplate t = template(s, c, 0, known ? TuningRecord.REFERENCE : settings.tuner(), true);
        CandidateRunner.Measurement m = c.ok() ? runner.measure(c, request(s, c, null, true), t) : null;
        TuningRecord rec = c.ok() ? t.complete(m) : failedBuild(t, c);
        if (known) db.append(rec);
        else append(s, rec);
        if (!rec.ok()) {
            s.skipped = "the default config failed (" + rec.errorCode() + ": " + rec.errorMessage() + ")";
            progress.note("skipping " + s.task.key() + ": " + s.skipped);
            return;
        }
        s.defaults = c;
        s.reference = m.result().getOutputsList();

        WorkloadRecords records = new WorkloadRecords(db.records(target.name(), key), defaults.toString());
        s.level = records.level();
        List<Config> configs = new ArrayList<>();
        List<Double> gflops = new ArrayList<>();
        Set<String> fed = new HashSet<>();
        s.done = 0;
        s.errors = 0;
        for (TuningRecord r : records.trials()) {
            Config parsed;
            try {
                parsed = Config.parse(r.config());
                space.check(parsed);
            } catch (IllegalArgumentException e) {
                continue; // a record of another version of the template: not a point of this space
            }
            // A trial counts toward --trials also where it re-measured a config; the tuner learns each config once.
            s.done++;
            if (!r.ok()) s.errors++;
            if (!fed.add(parsed.toString())) continue;
            configs.add(parsed);
            gflops.add(scaled(s, r));
            s.bestGflops = Math.max(s.bestGflops, scaled(s, r));
        }
        if (!configs.isEmpty()) s.tuner.update(configs, gflops);
        s.defaultGflops = s.task.flops() / s.level / 1e9;
        s.bestGflops = Math.max(s.bestGflops, s.defaultGflops); // the default stands at its level
    }

    /**
     * Measures one candidate against the reference outputs and commits its record, carrying the
     * round's drift reference; a record whose timings spread more than trusted is measured once
     * more (both are kept; the one with the smaller spread counts).
     */
    private TuningRecord measure(TaskState s, Candidate c, double reference) {
        TuningRecord rec = measureOnce(s, c, reference);
        if (rec.ok() && !WorkloadRecords.trusted(rec) && measured < budget) {
            TuningRecord again = measureOnce(s, c, reference);
            if (!again.ok() || again.relativeStandardError() < rec.relativeStandardError()) rec = again;
        }
        s.bestGflops = Math.max(s.bestGflops, scaled(s, rec));
        return rec;
    }

    private TuningRecord measureOnce(TaskState s, Candidate c, double reference) {
        RecordTemplate t = template(s, c, reference, settings.tuner(), false);
        TuningRecord rec = c.ok() ? t.complete(runner.measure(c, request(s, c, s.reference, false), t)) : failedBuild(t, c);
        append(s, rec);
        measured++;
        return rec;
    }

    private void append(TaskState s, TuningRecord rec) {
        db.append(rec);
        s.done++;
        if (!rec.ok()) s.errors++;
    }

    private MeasureRequest request(TaskState s, Candidate c, List<ByteString> reference, boolean returnOutputs) {
        MeasureRequest.Builder b = MeasureRequest.newBuilder()
                .setCandidateId(s.task.key() + "/" + c.config())
                .setThreads(settings.threads())
                .setNumber(0).setRepeat(MIN_REPEAT).setMaxRepeat(MAX_REPEAT).setTargetRse(TARGET_RSE)
                .setMinRepeatMs(settings.minRepeatMs()).setWarmup(WARMUP)
                .setTimeoutMs(10_000)
                .setReturnOutputs(returnOutputs)
                .setEvictBytes(settings.cache().evictBytes()).setWarmInputs(settings.cache().warmInputs());
        for (int i = 0; i < s.builder.inputs(); i++) b.addInputs(TensorData.newBuilder().setSeed(i + 1));
        if (reference != null) b.setExpected(Expected.newBuilder().addAllOutputs(reference).setRtol(RTOL).setAtol(ATOL));
        return b.build();
    }

    /** The record of measuring {@code c} now, as the task stands (its trial number is the task's count so far). */
    private RecordTemplate template(TaskState s, Candidate c, double referenceCost, String tuner, boolean selfReference) {
        return new RecordTemplate(RecordTemplate.base(target.name(), s.task.key(), s.task.workload().description(), c.config().toString(),
                c.trace(), s.task.flops(), KilnVersion.get(), tuner, s.done, runId, conditions(), referenceCost, provenance), selfReference);
    }

    /** The record of a candidate that did not build: its build error, nothing measured. */
    private TuningRecord failedBuild(RecordTemplate t, Candidate c) {
        TuningRecord b = t.base();
        return new TuningRecord(b.target(), b.workloadKey(), b.workloadDesc(), b.config(), b.trace(), List.of(), c.error(), c.message(),
                b.flops(), Instant.now(), b.kilnVersion(), deviceKey, b.tuner(), b.trial(), b.runId(), b.conditions(), 0, b.provenance());
    }

    /** How this run measures, as records keep it: {@code threads=N,cache=MODE}. */
    private String conditions() {
        return "threads=" + settings.threads() + ",cache=" + settings.cache().mode();
    }

    static ErrorCode errorCode(MeasureResult.Status status) {
        return switch (status) {
            case OK -> ErrorCode.NONE;
            case RUN_ERROR, LOAD_ERROR -> ErrorCode.RUN_ERROR;
            case TIMEOUT -> ErrorCode.TIMEOUT;
            case WRONG_ANSWER -> ErrorCode.WRONG_ANSWER;
            case CRASH -> ErrorCode.CRASH;
            default -> ErrorCode.UNKNOWN;
        };
    }

    /**
     * What the cost models transfer from, per task key: the task's error-free records from earlier
     * runs (featurized when the run starts), then every measurement of this run as it comes in.
     * Only tasks of one template (the same knobs) learn from each other: their features mean the
     * same things.
     */
    private final Map<String, Samples> transfer = new HashMap<>();

    /** Tasks of other models whose records in the database the cost models may learn from too ({@link #transferFrom}). */
    private List<TaskExtractor.Task> transferTasks = List.of();

    /** One task's rows for transfer: features and drift-corrected throughput. */
    private record Samples(String family, List<double[]> x, List<Double> y) {
        TaskSamples snapshot() {
            return new TaskSamples(x, y);
        }
    }

    /** Records per task (the newest) that the cost model of the other tasks learns from. */
    private static final int TRANSFER_RECORDS = 24;

    /**
     * Lets the cost models learn also from the database's records of {@code tasks} (say, those of
     * another model tuned earlier into the same database); their records never count as trials here.
     */
    public TuneLoop transferFrom(List<TaskExtractor.Task> tasks) {
        this.transferTasks = List.copyOf(tasks);
        return this;
    }

    /** The template a space belongs to, as transfer groups tasks: its knob names. */
    private static String family(ConfigSpace space) {
        return String.join(",", space.knobs().stream().map(dev.kiln.schedules.space.Knob::name).toList());
    }

    private void priorSamples(List<TaskExtractor.Task> tasks, Path dir) {
        List<TaskExtractor.Task> all = new ArrayList<>(tasks);
        for (TaskExtractor.Task t : transferTasks) if (tasks.stream().noneMatch(x -> x.key().equals(t.key()))) all.add(t);
        for (TaskExtractor.Task t : all) {
            WorkloadRecords w = new WorkloadRecords(db.records(target.name(), t.key()), t.space().defaults().toString());
            List<TuningRecord> ok = w.trials().stream().filter(TuningRecord::ok).toList();
            if (ok.isEmpty()) continue;
            ok = ok.subList(Math.max(0, ok.size() - TRANSFER_RECORDS), ok.size());
            CandidateBuilder b = builders.create(t, target, dir);
            Samples samples = new Samples(family(t.space()), new ArrayList<>(), new ArrayList<>());
            for (TuningRecord r : ok) {
                try {
                    Config c = Config.parse(r.config());
                    t.space().check(c);
                    samples.x().add(b.features(c));
                    samples.y().add(w.gflops(r));
                } catch (RuntimeException e) {
                    // A record of another Kiln version whose config no longer fits the space: nothing to learn from it.
                }
            }
            if (!samples.x().isEmpty()) transfer.put(t.key(), samples);
        }
    }

    /** Adds a round's measurements of {@code s} to what the other tasks' cost models learn from (features from its tuner's cache). */
    private void addSamples(TaskState s, List<Config> configs, List<Double> gflops) {
        if (!(s.tuner instanceof ModelBasedTuner model)) return;
        Samples samples = transfer.computeIfAbsent(s.task.key(), k -> new Samples(family(s.task.space()), new ArrayList<>(), new ArrayList<>()));
        for (int i = 0; i < configs.size(); i++) {
            double[] f = model.features(configs.get(i));
            if (f == null) continue; // a config that does not featurize teaches nothing
            samples.x().add(f);
            samples.y().add(gflops.get(i));
        }
    }

    /** The samples of the other tasks of {@code t}'s template, as they stand now: what its cost model trains on beside its own. */
    private List<TaskSamples> transferFor(TaskExtractor.Task t) {
        String family = family(t.space());
        List<TaskSamples> out = new ArrayList<>();
        for (var e : transfer.entrySet())
            if (!e.getKey().equals(t.key()) && e.getValue().family().equals(family)) out.add(e.getValue().snapshot());
        return out;
    }

    private Tuner newTuner(ConfigSpace space, CandidateBuilder builder, java.util.function.Supplier<List<TaskSamples>> others) {
        return switch (settings.tuner()) {
            case "random" -> new RandomTuner(space, settings.seed());
            case "grid" -> new GridTuner(space);
            case "ga" -> new GaTuner(space, settings.seed());
            case "xgb" -> new ModelBasedTuner(space, builder::features, new GbtCostModel(), settings.seed(), others,
                    ModelBasedTuner.Options.DEFAULT);
            default -> throw new KilnException("unknown tuner '" + settings.tuner() + "'");
        };
    }

    private boolean overBudget() {
        return settings.budget() != null && System.nanoTime() - start >= settings.budget().toNanos();
    }

    private static Candidate get(Future<Candidate> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("tuning was interrupted");
        } catch (ExecutionException e) {
            throw new KilnException("building a candidate failed unexpectedly: " + e.getCause(), e.getCause());
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) Files.deleteIfExists(p);
            Files.deleteIfExists(dir);
        } catch (IOException | UncheckedIOException ignored) {
            // leftover temporary files are harmless
        }
    }
}
