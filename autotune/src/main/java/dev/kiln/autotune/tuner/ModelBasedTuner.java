package dev.kiln.autotune.tuner;

import dev.kiln.autotune.model.CostModel;
import dev.kiln.autotune.model.TaskSamples;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * AutoTVM's XGBTuner ({@code xgb} on the command line): a cost model ranks the configs and only
 * the most promising are measured. Each round, simulated annealing over the model's predictions
 * (chains started from the best measured configs and from random ones, each step a
 * {@link ConfigSpace#mutate} of its point) collects a plan of the top predicted unmeasured
 * configs; a share {@code epsilon} of each batch is random instead, so a wrong model cannot
 * trap the search. Until {@code warmup} configs have been measured successfully, it proposes
 * random ones. The model is retrained on every update, on this task's measurements plus
 * optional rows of other tasks (transfer learning).
 *
 * <p>The featurizer turns a config into the model's input (lowering it and extracting features,
 * or just the knob values); its results are cached. A config it cannot featurize (it throws) is
 * never proposed by the model.
 */
public final class ModelBasedTuner implements Tuner {
    /** Search settings. {@code temperature} is the annealing start, on the scale of normalized throughput. */
    public record Options(int planSize, double epsilon, int chains, int steps, double temperature, int warmup) {
        public static final Options DEFAULT = new Options(64, 0.15, 64, 100, 0.5, 8);
    }

    private static final int FEATURE_CACHE = 100_000;

    private final SearchState state;
    private final Function<Config, double[]> featurizer;
    private final CostModel model;
    private final Supplier<List<TaskSamples>> transfer;
    private int transferRows;
    private final Options options;
    private final Random rng;
    private final Map<Long, double[]> featureCache = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, double[]> e) {
            return size() > FEATURE_CACHE;
        }
    };
    private final Deque<Config> plan = new ArrayDeque<>();
    private boolean modelReady;

    public ModelBasedTuner(ConfigSpace space, Function<Config, double[]> featurizer, CostModel model, long seed) {
        this(space, featurizer, model, seed, List.of(), Options.DEFAULT);
    }

    /** {@code transfer}: rows of other tasks (featurized the same way) trained on alongside this task's. */
    public ModelBasedTuner(ConfigSpace space, Function<Config, double[]> featurizer, CostModel model, long seed,
                           List<TaskSamples> transfer, Options options) {
        this(space, featurizer, model, seed, () -> transfer, options);
        if (!transfer.isEmpty()) retrain();
    }

    /**
     * {@code transfer}: the rows of other tasks as they stand at each retraining (a tune adds every
     * task's measurements as they come in). Where they hold at least {@code warmup} rows, the model
     * guides the search from the first proposal instead of after {@code warmup} random ones.
     */
    public ModelBasedTuner(ConfigSpace space, Function<Config, double[]> featurizer, CostModel model, long seed,
                           Supplier<List<TaskSamples>> transfer, Options options) {
        this.rng = new Random(seed);
        this.state = new SearchState(space, rng);
        this.featurizer = featurizer;
        this.model = model;
        this.transfer = transfer;
        this.options = options;
    }

    @Override
    public List<Config> next(int n) {
        List<Config> out = new ArrayList<>();
        if (!modelReady && state.validCount() == 0) retrain(); // other tasks' rows may guide the first proposals
        boolean guided = modelReady && (state.validCount() >= options.warmup() || transferRows >= options.warmup());
        boolean replanned = false;
        while (out.size() < n) {
            Config c = null;
            if (guided && rng.nextDouble() >= options.epsilon()) {
                c = fromPlan();
                if (c == null && !replanned) {
                    replan();
                    replanned = true;
                    c = fromPlan();
                }
            }
            if (c == null) c = state.claimRandom();
            if (c == null) break;
            out.add(c);
        }
        return out;
    }

    @Override
    public void update(List<Config> configs, List<Double> throughputs) {
        state.record(configs, throughputs);
        retrain();
        plan.clear(); // the plan came from the old model
    }

    @Override
    public boolean hasNext() {
        return !state.exhausted();
    }

    private Config fromPlan() {
        while (!plan.isEmpty()) {
            Config c = plan.poll();
            if (state.claim(c)) return c;
        }
        return null;
    }

    private void retrain() {
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (SearchState.Measured m : state.measured()) {
            double[] f = features(m.config());
            if (f == null) continue;
            x.add(f);
            y.add(m.throughput());
        }
        List<TaskSamples> tasks = new ArrayList<>(transfer.get());
        transferRows = 0;
        for (TaskSamples t : tasks) transferRows += t.features().size();
        tasks.add(new TaskSamples(x, y));
        model.fitTasks(tasks);
        modelReady = true;
    }

    /** Simulated annealing on the model's predictions; fills the plan with the best unseen configs, best first. */
    private void replan() {
        ConfigSpace space = state.space();
        Map<Long, Double> predicted = new HashMap<>();
        Comparator<Map.Entry<Long, Double>> byScore = Map.Entry.comparingByValue();
        PriorityQueue<Map.Entry<Long, Double>> top = new PriorityQueue<>(byScore.thenComparing(Map.Entry.comparingByKey()));
        List<Config> points = new ArrayList<>();
        for (SearchState.Measured m : state.best(options.chains() / 2)) points.add(m.config());
        while (points.size() < options.chains()) points.add(space.random(rng));
        double[] scores = new double[points.size()];
        for (int i = 0; i < points.size(); i++) scores[i] = score(points.get(i), predicted, top);
        for (int step = 0; step < options.steps(); step++) {
            double t = options.temperature() * (1 - (double) step / options.steps());
            for (int i = 0; i < points.size(); i++) {
                Config cand = space.mutate(points.get(i), rng);
                double s = score(cand, predicted, top);
                if (s >= scores[i] || (t > 0 && rng.nextDouble() < Math.exp((s - scores[i]) / t))) {
                    points.set(i, cand);
                    scores[i] = s;
                }
            }
        }
        List<Map.Entry<Long, Double>> best = new ArrayList<>(top);
        best.sort(byScore.reversed().thenComparing(Map.Entry.comparingByKey()));
        plan.clear();
        for (Map.Entry<Long, Double> e : best) plan.add(space.get(e.getKey()));
    }

    /** The model's prediction for {@code c} (memoized for this plan); offers unseen configs to the plan. */
    private double score(Config c, Map<Long, Double> predicted, PriorityQueue<Map.Entry<Long, Double>> top) {
        long index = state.space().indexOf(c);
        Double known = predicted.get(index);
        if (known != null) return known;
        double[] f = features(c);
        double s = f == null ? Double.NEGATIVE_INFINITY : model.predict(f);
        predicted.put(index, s);
        if (f != null && !state.seen(c)) {
            top.add(Map.entry(index, s));
            if (top.size() > options.planSize()) top.poll();
        }
        return s;
    }

    /** The cost model's input for {@code c}, cached; null for a config that does not featurize. */
    public double[] features(Config c) {
        long index = state.space().indexOf(c);
        double[] f = featureCache.get(index);
        if (f != null || featureCache.containsKey(index)) return f;
        try {
            f = featurizer.apply(c);
        } catch (RuntimeException e) {
            f = null; // e.g. a config whose schedule does not lower; the model never proposes it
        }
        featureCache.put(index, f);
        return f;
    }
}
