package dev.kiln.autotune.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.ops.Workload;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The configs {@code kiln compile --db} schedules with: for each kernel, the best record of its
 * workload on the target ({@link WorkloadRecords#best}: the fastest after correcting for the
 * machine's drift, among records whose timings agree), or the defaults where there is none (or the record no longer fits the
 * template's space, which a warning reports). A record that is not at least {@link #MARGIN}
 * faster than the default config measured in the same database is not used either: within
 * measurement noise the default wins, so a tuned library is never slower than the untuned one
 * because of a kernel whose "best" config only won by chance. Remembers which kernels it tuned and which it
 * left on defaults, for the summary after the compile.
 */
public final class TunedConfigs implements ConfigSource {
    private static final int TRIALS_PER_TASK = 64;
    /** How much faster than the measured default a record must be to replace it. */
    static final double MARGIN = 0.03;
    /** Untuned workloads named in the summary; the rest are counted. */
    private static final int LISTED = 8;

    private final TuningDatabase db;
    /** Per workload key: its records (read once per workload). */
    private final Map<String, WorkloadRecords> workloads = new LinkedHashMap<>();
    private final List<String> tuned = new ArrayList<>();
    /** Untuned workloads with a config space worth searching: key to (space size, kernels). */
    private final Map<String, long[]> untunedSize = new LinkedHashMap<>();
    private final List<String> warnings = new ArrayList<>();
    /** Kernels whose best record did not beat the measured default by the margin, by node name. */
    private final List<String> keptDefaults = new ArrayList<>();

    public TunedConfigs(TuningDatabase db) {
        this.db = db;
    }

    @Override
    public Knobs knobsFor(Node node, Graph graph, Target target) {
        ConfigSpace space = OpInventory.space(node, graph, target);
        if (space.size() <= 1) return Knobs.defaults(); // nothing to tune
        Workload w = Workload.of(node, graph, target);
        WorkloadRecords records = workloads.computeIfAbsent(w.key(),
                k -> new WorkloadRecords(db.records(target.name(), k), space.defaults().toString()));
        Optional<TuningRecord> record = records.best();
        if (record.isPresent()) {
            try {
                Config c = Config.parse(record.get().config());
                space.check(c);
                if (!beatsDefault(record.get(), records)) {
                    keptDefaults.add(node.name());
                    return Knobs.defaults();
                }
                tuned.add(node.name());
                return Knobs.of(c);
            } catch (IllegalArgumentException e) {
                warnings.add("the tuned config of " + w.key() + " (kernel " + node.name() + ") no longer fits its template ("
                        + e.getMessage() + "); using the defaults. Tune it again with kiln tune.");
            }
        }
        untunedSize.computeIfAbsent(w.key(), k -> new long[] {space.size(), 0})[1]++;
        return Knobs.defaults();
    }

    /**
     * Whether {@code best} is at least {@link #MARGIN} faster than the default config, both on the
     * drift-corrected scale of {@link WorkloadRecords}; true when the default was never measured
     * (nothing to compare).
     */
    private static boolean beatsDefault(TuningRecord best, WorkloadRecords records) {
        if (best.config().equals(records.defaults())) return true;
        double def = records.level();
        return !(def > 0) || records.cost(best) * (1 + MARGIN) <= def;
    }

    /** Kernels left on their defaults because no record beat the measured default by the margin, by node name. */
    public List<String> keptDefaultKernels() {
        return List.copyOf(keptDefaults);
    }

    /** Kernels scheduled with a tuned config, by node name. */
    public List<String> tunedKernels() {
        return List.copyOf(tuned);
    }

    /** Number of tunable kernels left on default configs. */
    public int defaultKernels() {
        return untunedSize.values().stream().mapToInt(v -> (int) v[1]).sum();
    }

    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /** What the compile used, and what tuning the rest would take; lines for the user. */
    public List<String> summary(String model, Target target) {
        List<String> lines = new ArrayList<>(warnings);
        lines.add(tuned.size() + (tuned.size() == 1 ? " kernel uses" : " kernels use") + " tuned configs from " + db);
        if (!keptDefaults.isEmpty())
            lines.add(keptDefaults.size() + (keptDefaults.size() == 1 ? " kernel keeps" : " kernels keep") + " the default config: no record "
                    + "beat the measured default by " + Math.round(MARGIN * 100) + " %");
        if (!untunedSize.isEmpty()) {
            long trials = 0;
            List<String> names = new ArrayList<>();
            for (var e : untunedSize.entrySet()) {
                trials += Math.min(e.getValue()[0], TRIALS_PER_TASK);
                if (names.size() < LISTED) names.add(e.getKey() + (e.getValue()[1] > 1 ? " x" + e.getValue()[1] : ""));
            }
            if (untunedSize.size() > LISTED) names.add("and " + (untunedSize.size() - LISTED) + " more workloads");
            lines.add(defaultKernels() + " kernel" + (defaultKernels() == 1 ? "" : "s") + " on default configs ("
                    + String.join("; ", names) + "); run `kiln tune " + model + " --target " + target.name()
                    + "` (about " + trials + " trials)");
        }
        return lines;
    }
}
