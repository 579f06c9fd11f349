package dev.kiln.driver.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.targets.Target;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The per-task table of a tune, read from the tuning database (so {@code kiln tune --report}
 * prints the same table later without measuring): trials, errors, the default config's
 * throughput, the best one and the speedup.
 */
public final class Report {
    private Report() {}

    /**
     * One task's figures. {@code curve}: the best throughput after each trial, in the order the
     * records were committed; GFLOP/s are 0 where nothing has been measured. {@code measuredAt}:
     * when each of those trials was measured (the record's timestamp), one per entry of
     * {@code curve}, which is what orders the trials of all tasks into one sequence for {@link Plot}.
     * {@code bestSpread}: the relative standard error of the best record's timings.
     */
    public record Row(TaskExtractor.Task task, int trials, int errors, double defaultGflops, double bestGflops,
                      List<Double> curve, List<Instant> measuredAt, double bestSpread) {
        public Row(TaskExtractor.Task task, int trials, int errors, double defaultGflops, double bestGflops, List<Double> curve,
                   List<Instant> measuredAt) {
            this(task, trials, errors, defaultGflops, bestGflops, curve, measuredAt, 0);
        }

        public Row {
            curve = List.copyOf(curve);
            measuredAt = List.copyOf(measuredAt);
            if (measuredAt.size() != curve.size())
                throw new IllegalArgumentException("task " + task.key() + " has " + curve.size() + " curve points but "
                        + measuredAt.size() + " measurement times");
        }

        public double speedup() {
            return defaultGflops > 0 ? bestGflops / defaultGflops : Double.NaN;
        }

        /** Whether the totals count this task: both its default config and its best one have a throughput. */
        public boolean counted() {
            return defaultGflops > 0 && bestGflops > 0;
        }
    }

    /**
     * The model's time per inference in the kernels of the counted tasks ({@link Row#counted}),
     * in seconds, on default configs and on the best ones; {@code counted} of {@code tasks} tasks.
     */
    public record Totals(double defaultSeconds, double tunedSeconds, int counted, int tasks) {
        public boolean complete() {
            return counted == tasks;
        }
    }

    /**
     * Seconds per inference the kernels of a task take at a throughput: its weight (kernels of the
     * model that share the workload) times the time of one run, {@code weight * flops / (gflops * 1e9)}.
     */
    public static double seconds(TaskExtractor.Task t, double gflops) {
        return t.weight() * t.flops() / (gflops * 1e9);
    }

    /** The weighted totals of {@link #table}'s last line, summed in the order of {@code rows}. */
    public static Totals totals(List<Row> rows) {
        double before = 0, after = 0;
        int counted = 0;
        for (Row r : rows) {
            if (!r.counted()) continue;
            before += seconds(r.task(), r.defaultGflops());
            after += seconds(r.task(), r.bestGflops());
            counted++;
        }
        return new Totals(before, after, counted, rows.size());
    }

    /**
     * One row per task, from its records on the drift-corrected scale of {@link WorkloadRecords}:
     * the default's throughput at its level (the median of its measurements), the best trusted
     * record's, and the curve of the best so far over the trials (drift references are not trials).
     */
    public static List<Row> rows(List<TaskExtractor.Task> tasks, TuningDatabase db, Target target) {
        List<Row> rows = new ArrayList<>();
        for (TaskExtractor.Task t : tasks) {
            WorkloadRecords w = new WorkloadRecords(db.records(target.name(), t.key()), t.space().defaults().toString());
            int errors = 0, trials = 0;
            List<Double> curve = new ArrayList<>();
            List<Instant> measuredAt = new ArrayList<>();
            double[] bestCosts = w.bestCosts();
            for (int i = 0; i < w.size(); i++) {
                TuningRecord r = w.get(i);
                if (!r.isTrial()) continue;
                trials++;
                if (!r.ok()) errors++;
                curve.add(gflops(t, bestCosts[i]));
                measuredAt.add(r.timestamp());
            }
            // The last point is the best over every record, references and confirmations included.
            double best = w.size() == 0 ? 0 : gflops(t, bestCosts[w.size() - 1]);
            if (!curve.isEmpty()) curve.set(curve.size() - 1, best);
            double spread = w.best().map(TuningRecord::relativeStandardError).orElse(0.0);
            double def = gflops(t, w.level());
            rows.add(new Row(t, trials, errors, def, best, curve, measuredAt, spread));
        }
        return rows;
    }

    /** GFLOP/s of a run of {@code t}'s kernel that takes {@code seconds}; 0 where there is no such time (NaN, 0). */
    private static double gflops(TaskExtractor.Task t, double seconds) {
        return seconds > 0 ? t.flops() / seconds / 1e9 : 0;
    }

    /** The table, one line per task, then the weighted total time of the model's tuned kernels. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        String fmt = "%-36s  %-48s  %6s  %6s  %6s  %12s  %12s  %6s  %7s%n";
        sb.append(String.format(Locale.ROOT, fmt, "task", "workload", "weight", "trials", "errors", "default GF/s", "best GF/s", "+-",
                "speedup"));
        for (Row r : rows) {
            TaskExtractor.Task t = r.task();
            sb.append(String.format(Locale.ROOT, fmt, clip(t.key(), 36), clip(t.workload().description(), 48), t.weight(), r.trials(),
                    r.errors(), gflops(r.defaultGflops()), gflops(r.bestGflops()),
                    r.bestGflops() > 0 ? String.format(Locale.ROOT, "%.1f%%", 100 * r.bestSpread()) : "-",
                    Double.isNaN(r.speedup()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.speedup())));
        }
        sb.append("(GF/s corrected for the machine's drift by the default config re-measured beside each record; "
                + "+-: relative standard error of the best record's timings)\n");
        Totals totals = totals(rows);
        double before = totals.defaultSeconds(), after = totals.tunedSeconds();
        if (before > 0)
            sb.append(String.format(Locale.ROOT, "tuned kernels: %.3f ms per inference on default configs, %.3f ms tuned (%.2fx)%s%n",
                    before * 1e3, after * 1e3, before / after, totals.complete() ? "" : ", counting only tasks with a measured default"));
        return sb.toString();
    }

    private static String gflops(double g) {
        return g > 0 ? String.format(Locale.ROOT, "%.2f", g) : "-";
    }

    private static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 3) + "...";
    }
}
