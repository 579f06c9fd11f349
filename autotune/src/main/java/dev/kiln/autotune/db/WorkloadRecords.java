package dev.kiln.autotune.db;

import java.util.ArrayList;
import java.util.List;
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

    /** The trials, oldest first: every record but the drift references. */
    public List<TuningRecord> trials() {
        return records.stream().filter(r -> !r.isReference()).toList();
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
     * The trusted record of the lowest {@link #cost} (the newest among equals); a record of the
     * default config counts at the {@link #level}, trusted or not. Empty when there is none.
     */
    public Optional<TuningRecord> best() {
        TuningRecord best = null;
        for (TuningRecord r : records)
            if (counts(r) && (best == null || rank(r) <= rank(best))) best = r;
        return Optional.ofNullable(best);
    }

    /** Seconds of {@code r} on this scale when it may be the best: the level for the default config. */
    private double rank(TuningRecord r) {
        return r.config().equals(defaults) && level > 0 ? level : cost(r);
    }

    /** Whether {@code r} may be the best: trusted, or a successful measurement of the default config (which stands at the level). */
    private boolean counts(TuningRecord r) {
        return trusted(r) || (r.ok() && r.config().equals(defaults) && level > 0);
    }

    /**
     * Throughput in GFLOP/s that {@code r} stands for as a candidate for the best: the level's for
     * the default config, {@link #gflops} for a trusted record, 0 for any other.
     */
    public double bestGflops(TuningRecord r) {
        if (!counts(r)) return 0;
        double c = rank(r);
        return c > 0 ? r.flops() / c / 1e9 : 0;
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
