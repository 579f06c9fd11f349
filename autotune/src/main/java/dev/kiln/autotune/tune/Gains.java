package dev.kiln.autotune.tune;

import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What tuning brought to the workloads a database holds, for estimating what it would bring to one
 * not tuned yet: per workload whose default config was measured (its drift references), the
 * default's throughput and the share of its time the best config saves.
 */
final class Gains {
    /** One tuned workload: its anchor op (the key's first op), the default config's GFLOP/s, the share of time tuning saved. */
    private record Gain(String ops, double defaultGflops, double saved) {}

    private final List<Gain> gains;

    private Gains(List<Gain> gains) {
        this.gains = gains;
    }

    /** The gains of the workloads among {@code records} (one target's) whose default config has drift references. */
    static Gains of(List<TuningRecord> records) {
        Map<String, List<TuningRecord>> byWorkload = new LinkedHashMap<>();
        for (TuningRecord r : records) byWorkload.computeIfAbsent(r.workloadKey(), k -> new ArrayList<>()).add(r);
        List<Gain> out = new ArrayList<>();
        for (var e : byWorkload.entrySet()) {
            Optional<TuningRecord> reference = e.getValue().stream().filter(r -> r.isReference() && r.ok()).findFirst();
            if (reference.isEmpty()) continue;
            WorkloadRecords w = new WorkloadRecords(e.getValue(), reference.get().config());
            Optional<TuningRecord> best = w.best();
            double level = w.level();
            if (best.isEmpty() || !(level > 0) || reference.get().flops() <= 0) continue;
            double saved = Math.max(0, 1 - w.configCost(best.get().config()) / level);
            out.add(new Gain(ops(e.getKey()), reference.get().flops() / level / 1e9, saved));
        }
        return new Gains(out);
    }

    /** How many workloads the estimates draw on. */
    int workloads() {
        return gains.size();
    }

    /**
     * For a workload {@code key} of {@code flops} per run: its default time in seconds (its work at
     * the median default throughput of measured workloads with the same anchor op: a conv's
     * throughput says nothing of a matrix-vector product's) and the median share of time tuning
     * saved there; null where no such workload was measured or there is no work to scale by.
     */
    double[] estimate(String key, double flops) {
        String ops = ops(key);
        List<Gain> like = gains.stream().filter(g -> g.ops().equals(ops)).toList();
        if (like.isEmpty() || !(flops > 0)) return null;
        double gflops = median(like.stream().map(Gain::defaultGflops).toList());
        return new double[] {flops / (gflops * 1e9), median(like.stream().map(Gain::saved).toList())};
    }

    /** The anchor op of a workload key, {@code Conv} of {@code Conv+Relu-0123456789abcdef}. */
    private static String ops(String key) {
        int dash = key.lastIndexOf('-');
        String ops = dash < 0 ? key : key.substring(0, dash);
        int plus = ops.indexOf('+');
        return plus < 0 ? ops : ops.substring(0, plus);
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
