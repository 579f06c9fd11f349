package dev.kiln.autotune.db;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One workload's records on one scale, corrected for the drift of the machine. A machine shared
 * with others runs the same kernel 10 or 20 % slower from one minute to the next, so two
 * measurements taken minutes apart do not compare; but each record that {@code kiln tune} takes
 * carries the cost of the workload's default config measured just before it
 * ({@link TuningRecord#referenceCost}), and the ratio of the two is what drift does not touch.
 *
 * <p>The scale: the default config's <i>level</i> is the median of every measurement of it (the
 * drift references and the default's own trial records); a record's {@link #cost} is its mean cost
 * times {@code level / referenceCost}, or its plain mean cost where it has no reference (a record
 * of an older Kiln). A record whose timings spread more than {@link #TRUSTED_RSE} (relative
 * standard error) is kept but not {@link #trusted}: it never becomes the best. The default config
 * stands at its level whatever the spread of its single records: the level is the median of all
 * of them.
 */
public final class WorkloadRecords {
    /** The largest relative standard error of a record that may become the best of its workload. */
    public static final double TRUSTED_RSE = 0.05;
    /**
     * A standard error below this many seconds is trusted whatever its share of the mean: the
     * timings of a kernel of a few microseconds jitter by tens of percent, by amounts no model's
     * latency notices.
     */
    public static final double TRUSTED_ERROR_SECONDS = 0.5e-6;

    private final List<TuningRecord> records;
    private final String defaults;
    private final double level;

    /** The records of one workload on one target ({@link TuningDatabase#records}), whose default config is {@code defaults}. */
    public WorkloadRecords(List<TuningRecord> records, String defaults) {
        this.records = List.copyOf(records);
        this.defaults = defaults;
        List<Double> defaultCosts = new ArrayList<>();
        for (TuningRecord r : records) if (r.ok() && r.config().equals(defaults)) defaultCosts.add(r.meanCost());
        this.level = median(defaultCosts);
    }

    /** The default config's cost in seconds: the median of its measurements; NaN where it was never measured. */
    public double level() {
        return level;
    }

    /** The trials, oldest first: every record but the drift references and confirmations. */
    public List<TuningRecord> trials() {
        return records.stream().filter(TuningRecord::isTrial).toList();
    }

    /**
     * Whether {@code r} may become the best: measured without error, with timings that agree (a
     * relative standard error of at most {@link #TRUSTED_RSE}, or an absolute one below
     * {@link #TRUSTED_ERROR_SECONDS}).
     */
    public static boolean trusted(TuningRecord r) {
        if (!r.ok()) return false;
        double rse = r.relativeStandardError();
        return rse <= TRUSTED_RSE || rse * r.meanCost() < TRUSTED_ERROR_SECONDS;
    }

    /**
     * Seconds per run of {@code r} at the default config's level: its mean cost scaled by how far
     * the default measured beside it was from the level; the plain mean cost without a reference
     * or a level; infinity for an error record.
     */
    public double cost(TuningRecord r) {
        return cost(r, level);
    }

    /** {@link #cost} of {@code r} at a given {@code level} of the default config (seconds; NaN or 0 for none). */
    public static double cost(TuningRecord r, double level) {
        if (!r.ok()) return Double.POSITIVE_INFINITY;
        if (r.referenceCost() > 0 && level > 0) return r.meanCost() * level / r.referenceCost();
        return r.meanCost();
    }

    /** Throughput of {@code r} at the level, in GFLOP/s ({@link #cost}); 0 for an error record or a free run. */
    public double gflops(TuningRecord r) {
        double c = cost(r);
        return r.ok() && c > 0 && Double.isFinite(c) ? r.flops() / c / 1e9 : 0;
    }

    /**
     * The best config's newest counting record: the config of the lowest {@link #configCost}, the
     * default config winning ties. Empty when no config has a cost.
     */
    public Optional<TuningRecord> best() {
        Map<String, List<Double>> costs = new LinkedHashMap<>();
        for (TuningRecord r : records) add(costs, r);
        String config = bestOf(costs);
        if (config == null) return Optional.empty();
        TuningRecord newest = null;
        for (TuningRecord r : records) if (r.config().equals(config) && counts(r)) newest = r;
        return Optional.of(newest);
    }

    /**
     * Seconds per run of {@code config} on this scale: the {@link #level} for the default config
     * (once it has a successful record), else the median of {@link #cost} over its trusted records,
     * so that a config measured again is judged by all its measurements, not by its luckiest one;
     * NaN where none counts.
     */
    public double configCost(String config) {
        List<Double> costs = new ArrayList<>();
        for (TuningRecord r : records) if (r.config().equals(config) && counts(r)) costs.add(cost(r));
        return configCost(config, costs);
    }

    /**
     * The lowest {@link #configCost} after each record, counting the records up to and including
     * it: element {@code i} for the first {@code i + 1} records; NaN while none counts. In one
     * pass over the records.
     */
    public double[] bestCosts() {
        Map<String, List<Double>> costs = new LinkedHashMap<>();
        double[] out = new double[records.size()];
        for (int i = 0; i < out.length; i++) {
            add(costs, records.get(i));
            String config = bestOf(costs);
            out[i] = config == null ? Double.NaN : configCost(config, costs.get(config));
        }
        return out;
    }

    /** Records held (references included). */
    public int size() {
        return records.size();
    }

    /** The record at {@code index}, oldest first, references included. */
    public TuningRecord get(int index) {
        return records.get(index);
    }

    private void add(Map<String, List<Double>> costs, TuningRecord r) {
        if (counts(r)) costs.computeIfAbsent(r.config(), k -> new ArrayList<>()).add(cost(r));
    }

    private double configCost(String config, List<Double> costs) {
        if (costs.isEmpty()) return Double.NaN;
        return config.equals(defaults) && level > 0 ? level : median(costs);
    }

    /** The config of the lowest cost among {@code costs} (the default winning ties); null when there is none. */
    private String bestOf(Map<String, List<Double>> costs) {
        String best = null;
        double cost = Double.POSITIVE_INFINITY;
        for (var e : costs.entrySet()) {
            double c = configCost(e.getKey(), e.getValue());
            if (c < cost || (c == cost && e.getKey().equals(defaults))) {
                best = e.getKey();
                cost = c;
            }
        }
        return best;
    }

    /** Whether {@code r} counts toward its config's cost: trusted, or a successful measurement of the default config (which stands at the level). */
    private boolean counts(TuningRecord r) {
        return trusted(r) || (r.ok() && r.config().equals(defaults) && level > 0);
    }

    /** The default config string these records were read against. */
    public String defaults() {
        return defaults;
    }

    private static double median(List<Double> xs) {
        if (xs.isEmpty()) return Double.NaN;
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
