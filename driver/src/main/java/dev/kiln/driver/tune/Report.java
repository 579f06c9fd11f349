package dev.kiln.driver.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.targets.Target;
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
     * records were committed; GFLOP/s are 0 where nothing has been measured.
     */
    public record Row(TaskExtractor.Task task, int trials, int errors, double defaultGflops, double bestGflops,
                      List<Double> curve) {
        public double speedup() {
            return defaultGflops > 0 ? bestGflops / defaultGflops : Double.NaN;
        }
    }

    public static List<Row> rows(List<TaskExtractor.Task> tasks, TuningDatabase db, Target target) {
        List<Row> rows = new ArrayList<>();
        for (TaskExtractor.Task t : tasks) {
            String defaults = t.space().defaults().toString();
            int errors = 0;
            double def = 0, best = 0;
            List<Double> curve = new ArrayList<>();
            List<TuningRecord> records = db.records(target.name(), t.key());
            for (TuningRecord r : records) {
                if (!r.ok()) errors++;
                if (r.config().equals(defaults)) def = Math.max(def, r.gflops());
                best = Math.max(best, r.gflops());
                curve.add(best);
            }
            rows.add(new Row(t, records.size(), errors, def, best, curve));
        }
        return rows;
    }

    /** The table, one line per task, then the weighted total time of the model's tuned kernels. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        String fmt = "%-36s  %-48s  %6s  %6s  %6s  %12s  %12s  %7s%n";
        sb.append(String.format(Locale.ROOT, fmt, "task", "workload", "weight", "trials", "errors", "default GF/s", "best GF/s", "speedup"));
        double before = 0, after = 0;
        boolean complete = true;
        for (Row r : rows) {
            TaskExtractor.Task t = r.task();
            sb.append(String.format(Locale.ROOT, fmt, clip(t.key(), 36), clip(t.workload().description(), 48), t.weight(), r.trials(),
                    r.errors(), gflops(r.defaultGflops()), gflops(r.bestGflops()),
                    Double.isNaN(r.speedup()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.speedup())));
            if (r.defaultGflops() > 0 && r.bestGflops() > 0) {
                before += t.weight() * t.flops() / (r.defaultGflops() * 1e9);
                after += t.weight() * t.flops() / (r.bestGflops() * 1e9);
            } else {
                complete = false;
            }
        }
        if (before > 0)
            sb.append(String.format(Locale.ROOT, "tuned kernels: %.3f ms per inference on default configs, %.3f ms tuned (%.2fx)%s%n",
                    before * 1e3, after * 1e3, before / after, complete ? "" : ", counting only tasks with a measured default"));
        return sb.toString();
    }

    private static String gflops(double g) {
        return g > 0 ? String.format(Locale.ROOT, "%.2f", g) : "-";
    }

    private static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 3) + "...";
    }
}
