package dev.kiln.autotune.db;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One measurement of one schedule config of one workload on one device: the unit the tuner appends
 * to the {@link TuningDatabase} as soon as it is measured. Records hold configs and traces, never
 * code, so a shared database cannot inject code into a compile.
 *
 * @param target       the Kiln target it was compiled for, e.g. {@code x86_64-avx512}
 * @param workloadKey  opaque key of the workload (readable prefix plus hash of op, shapes, dtypes, layout)
 * @param workloadDesc a human summary of the workload
 * @param config       the {@code dev.kiln.schedules.space.Config} text form, {@code name=value,...}
 * @param trace        the schedule steps the config produced, one per line
 * @param costsSeconds seconds per run of each repeat; empty exactly when {@code errorCode} is not NONE
 * @param errorCode    {@link ErrorCode#NONE} or why there are no costs
 * @param errorMessage what went wrong, or null
 * @param flops        floating-point operations of one run, for GFLOP/s
 * @param timestamp    when it was measured
 * @param kilnVersion  the Kiln version that built and measured it
 * @param deviceKey    which machine or board measured it (host name and CPU or GPU model)
 * @param tuner        which search proposed the config (random, grid, xgb, ...)
 * @param trial        index of the trial within its run
 * @param runId        which {@code kiln tune} invocation measured it
 * @param conditions   how it was measured, {@code name=value,...} ({@code threads=1,cache=model}); empty
 *                     for records of Kilns that did not say (one thread per core, runs back to back)
 * @param referenceCost the mean cost of the workload's default config measured just before this
 *                     record, in the same run and conditions (the tuner's drift reference); 0 where
 *                     none was taken
 * @param provenance   the LLVM, device, features and trial budget behind the measurement
 *                     ({@link Provenance#NONE} for records of older Kilns)
 */
public record TuningRecord(String target, String workloadKey, String workloadDesc, String config, String trace,
                           List<Double> costsSeconds, ErrorCode errorCode, String errorMessage, double flops,
                           Instant timestamp, String kilnVersion, String deviceKey, String tuner, long trial,
                           String runId, String conditions, double referenceCost, Provenance provenance) {
    /** The {@code tuner} of a drift reference: a re-measurement of the default config, not a trial. */
    public static final String REFERENCE = "reference";
    /** The {@code tuner} of a confirmation: the best config of a tune timed again at its end, not a trial. */
    public static final String CONFIRM = "confirm";

    /** A record without measurement conditions or a drift reference (as older Kilns wrote them). */
    public TuningRecord(String target, String workloadKey, String workloadDesc, String config, String trace,
                        List<Double> costsSeconds, ErrorCode errorCode, String errorMessage, double flops,
                        Instant timestamp, String kilnVersion, String deviceKey, String tuner, long trial, String runId) {
        this(target, workloadKey, workloadDesc, config, trace, costsSeconds, errorCode, errorMessage, flops, timestamp, kilnVersion,
                deviceKey, tuner, trial, runId, "", 0, Provenance.NONE);
    }

    /** A record without provenance (as Kilns before schema 3 wrote them). */
    public TuningRecord(String target, String workloadKey, String workloadDesc, String config, String trace,
                        List<Double> costsSeconds, ErrorCode errorCode, String errorMessage, double flops,
                        Instant timestamp, String kilnVersion, String deviceKey, String tuner, long trial, String runId,
                        String conditions, double referenceCost) {
        this(target, workloadKey, workloadDesc, config, trace, costsSeconds, errorCode, errorMessage, flops, timestamp, kilnVersion,
                deviceKey, tuner, trial, runId, conditions, referenceCost, Provenance.NONE);
    }

    public TuningRecord {
        Objects.requireNonNull(conditions, "conditions");
        Objects.requireNonNull(provenance, "provenance");
        if (!Double.isFinite(referenceCost) || referenceCost < 0)
            throw new IllegalArgumentException("record of " + workloadKey + " has reference cost " + referenceCost
                    + ": a finite, non-negative number of seconds (0 for none)");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(workloadKey, "workloadKey");
        Objects.requireNonNull(workloadDesc, "workloadDesc");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(trace, "trace");
        Objects.requireNonNull(errorCode, "errorCode");
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(kilnVersion, "kilnVersion");
        Objects.requireNonNull(deviceKey, "deviceKey");
        Objects.requireNonNull(tuner, "tuner");
        Objects.requireNonNull(runId, "runId");
        costsSeconds = List.copyOf(costsSeconds);
        if (errorCode == ErrorCode.NONE && costsSeconds.isEmpty())
            throw new IllegalArgumentException("record of " + workloadKey + " config " + config
                    + " has no costs and no error code: a successful measurement needs at least one cost");
        if (errorCode != ErrorCode.NONE && !costsSeconds.isEmpty())
            throw new IllegalArgumentException("record of " + workloadKey + " config " + config
                    + " has error " + errorCode + " and costs: an error record carries no costs");
        for (double c : costsSeconds)
            if (!Double.isFinite(c) || c < 0)
                throw new IllegalArgumentException("record of " + workloadKey + " config " + config
                        + " has cost " + c + ": costs are finite, non-negative seconds");
        if (!Double.isFinite(flops) || flops < 0)
            throw new IllegalArgumentException("record of " + workloadKey + " has flops " + flops
                    + ": flops is a finite, non-negative count");
        if (trial < 0) throw new IllegalArgumentException("record of " + workloadKey + " has trial " + trial);
    }

    public boolean ok() {
        return errorCode == ErrorCode.NONE;
    }

    /** This record with {@code referenceCost} as its drift reference. */
    /** The same record as trial {@code n} of its run. */
    public TuningRecord withTrial(long n) {
        return new TuningRecord(target, workloadKey, workloadDesc, config, trace, costsSeconds, errorCode, errorMessage, flops, timestamp,
                kilnVersion, deviceKey, tuner, n, runId, conditions, referenceCost, provenance);
    }

    public TuningRecord withReferenceCost(double cost) {
        return new TuningRecord(target, workloadKey, workloadDesc, config, trace, costsSeconds, errorCode, errorMessage, flops, timestamp,
                kilnVersion, deviceKey, tuner, trial, runId, conditions, cost, provenance);
    }

    /** This record with {@code p} as its provenance. */
    public TuningRecord withProvenance(Provenance p) {
        return new TuningRecord(target, workloadKey, workloadDesc, config, trace, costsSeconds, errorCode, errorMessage, flops, timestamp,
                kilnVersion, deviceKey, tuner, trial, runId, conditions, referenceCost, p);
    }

    /** Whether this is a drift reference (a re-measured default config) rather than a trial. */
    public boolean isReference() {
        return tuner.equals(REFERENCE);
    }

    /** Whether this is a trial of a search: neither a drift reference nor a confirmation of the best. */
    public boolean isTrial() {
        return !isReference() && !tuner.equals(CONFIRM);
    }

    /** Mean seconds per run; positive infinity for an error record, so errors sort last. */
    public double meanCost() {
        if (!ok()) return Double.POSITIVE_INFINITY;
        double sum = 0;
        for (double c : costsSeconds) sum += c;
        return sum / costsSeconds.size();
    }

    /**
     * The spread of the costs: the relative standard error of their mean (standard deviation /
     * mean / sqrt(n)); 0 for fewer than two costs or an error record.
     */
    public double relativeStandardError() {
        return relativeStandardError(costsSeconds);
    }

    /** Standard deviation (n - 1) over mean over sqrt(n) of {@code costs}; 0 for fewer than two. */
    public static double relativeStandardError(List<Double> costs) {
        int n = costs.size();
        if (n < 2) return 0;
        double mean = 0;
        for (double c : costs) mean += c;
        mean /= n;
        double var = 0;
        for (double c : costs) var += (c - mean) * (c - mean);
        var /= n - 1;
        return mean > 0 ? Math.sqrt(var) / mean / Math.sqrt(n) : 0;
    }

    /** Throughput at the mean cost in GFLOP/s; 0 for an error record or a free (zero-cost) run. */
    public double gflops() {
        double mean = meanCost();
        return ok() && mean > 0 ? flops / mean / 1e9 : 0;
    }
}
