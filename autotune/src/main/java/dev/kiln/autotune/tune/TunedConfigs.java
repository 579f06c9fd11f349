package dev.kiln.autotune.tune;

import dev.kiln.autotune.db.Provenance;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.autotune.runner.HostInfo;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.ops.Work;
import dev.kiln.schedules.ops.Workload;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The configs {@code kiln compile --db} schedules with: for each kernel, the best record of its
 * workload on the target ({@link WorkloadRecords#best}: the fastest after correcting for the
 * machine's drift, among records whose timings agree), or the defaults where there is none (or the record no longer fits the
 * template's space, which a warning reports). A record that is not at least {@link #MARGIN}
 * faster than the default config measured in the same database is not used either: within
 * measurement noise the default wins, so a tuned library is never slower than the untuned one
 * because of a kernel whose "best" config only won by chance. Records measured by another Kiln
 * or LLVM major version, or on another CPU model than this one (for a target this machine runs),
 * are used only where a workload has no record from here; the summary says where the configs
 * came from, which ones are such stand-ins, and which workloads were left on defaults with an
 * estimate of the time tuning them would save.
 */
public final class TunedConfigs implements ConfigSource {
    private static final int TRIALS_PER_TASK = 64;
    /** How much faster than the measured default a record must be to replace it. */
    static final double MARGIN = 0.03;
    /** Provenance groups named in the summary; the rest are counted. */
    private static final int SOURCES = 4;

    private final TuningDatabase db;
    private final String kilnMajor = Provenance.major(KilnVersion.get());
    private final String llvmMajor = Provenance.major(LlvmModule.llvmVersion());
    /** Per workload key: its records (read once per workload). */
    private final Map<String, WorkloadRecords> workloads = new LinkedHashMap<>();
    private final List<String> tuned = new ArrayList<>();
    /** The record each tuned kernel uses, by node name. */
    private final Map<String, TuningRecord> used = new LinkedHashMap<>();
    /** Tuned kernels whose record was measured elsewhere (nothing from here), with why it is stale. */
    private final Map<String, String> stale = new LinkedHashMap<>();
    /** Untuned workloads with a config space worth searching: key to what the summary says of it. */
    private final Map<String, Untuned> untuned = new LinkedHashMap<>();
    private final List<String> warnings = new ArrayList<>();
    /** Kernels whose best record did not beat the measured default by the margin, by node name. */
    private final List<String> keptDefaults = new ArrayList<>();
    private String cpuHere;
    private boolean cpuChecked;

    /** An untuned workload: its space's size, its kernels, one kernel's work. */
    private static final class Untuned {
        final long size;
        final double flops;
        int kernels;

        Untuned(long size, double flops) {
            this.size = size;
            this.flops = flops;
        }
    }

    public TunedConfigs(TuningDatabase db) {
        this.db = db;
    }

    @Override
    public Knobs knobsFor(Node node, Graph graph, Target target) {
        ConfigSpace space = OpInventory.space(node, graph, target);
        if (space.size() <= 1) return Knobs.defaults(); // nothing to tune
        Workload w = Workload.of(node, graph, target);
        WorkloadRecords records = workloads.computeIfAbsent(w.key(), k -> read(node, graph, target, k, space.defaults().toString()));
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
                used.put(node.name(), record.get());
                String why = staleness(record.get(), target);
                if (!why.isEmpty()) stale.put(node.name(), why);
                return Knobs.of(c);
            } catch (IllegalArgumentException e) {
                warnings.add("the tuned config of " + w.key() + " (kernel " + node.name() + ") no longer fits its template ("
                        + e.getMessage() + "); using the defaults. Tune it again with kiln tune.");
            }
        }
        untuned.computeIfAbsent(w.key(), k -> new Untuned(space.size(), Work.flops(node, graph))).kernels++;
        return Knobs.defaults();
    }

    /**
     * A workload's records: those measured here (this Kiln and LLVM, this CPU) where there are any, else
     * all of them; under the target's own name, else under the first of {@link Target#recordTargets} that has some.
     */
    private WorkloadRecords read(Node node, Graph graph, Target target, String key, String defaults) {
        List<TuningRecord> all = db.records(target.name(), key);
        for (String other : target.recordTargets().subList(1, target.recordTargets().size())) {
            if (!all.isEmpty()) break;
            all = db.records(other, Workload.of(node, graph, Target.parse(other)).key());
        }
        List<TuningRecord> here = all.stream().filter(r -> staleness(r, target).isEmpty()).toList();
        return new WorkloadRecords(here.stream().anyMatch(TuningRecord::ok) ? here : all, defaults);
    }

    /**
     * Why {@code r} may not fit this compile: measured by another Kiln or LLVM major version, or on
     * another CPU model than this machine's (for a CPU target this machine runs); empty when none.
     */
    String staleness(TuningRecord r, Target target) {
        List<String> why = new ArrayList<>();
        if (!Provenance.major(r.kilnVersion()).equals(kilnMajor)) why.add("Kiln " + r.kilnVersion());
        String llvm = r.provenance().llvmVersion();
        if (!llvm.isEmpty() && !Provenance.major(llvm).equals(llvmMajor)) why.add("LLVM " + llvm);
        String cpu = cpuHere(target);
        String device = deviceOf(r);
        if (cpu != null && !device.isEmpty() && !device.equals(cpu)) why.add("CPU " + device);
        return String.join(", ", why);
    }

    /** This machine's CPU model where {@code target} runs here (a record from another CPU is a stand-in); null otherwise. */
    private String cpuHere(Target target) {
        if (!(target instanceof CpuTarget) || !target.canRunOnHost()) return null;
        if (!cpuChecked) {
            cpuHere = HostInfo.describe().getCpuModel();
            cpuChecked = true;
        }
        return cpuHere;
    }

    /** The device that measured {@code r}: its provenance, or for older records the part of the device key after the host name. */
    private static String deviceOf(TuningRecord r) {
        if (!r.provenance().device().isEmpty()) return r.provenance().device();
        int slash = r.deviceKey().indexOf('/');
        return slash < 0 ? "" : r.deviceKey().substring(slash + 1);
    }

    /**
     * Whether {@code best} is at least {@link #MARGIN} faster than the default config, both on the
     * drift-corrected scale of {@link WorkloadRecords}; true when the default was never measured
     * (nothing to compare).
     */
    public static boolean beatsDefault(TuningRecord best, WorkloadRecords records) {
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

    /** Tuned kernels whose config was measured elsewhere (another Kiln, LLVM or CPU), by node name, with why. */
    public Map<String, String> staleKernels() {
        return Map.copyOf(stale);
    }

    /** Number of tunable kernels left on default configs. */
    public int defaultKernels() {
        return untuned.values().stream().mapToInt(u -> u.kernels).sum();
    }

    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /** What the compile used, where it came from, and what tuning the rest would take; lines for the user. */
    public List<String> summary(String model, Target target) {
        List<String> lines = new ArrayList<>(warnings);
        lines.add(tuned.size() + (tuned.size() == 1 ? " kernel uses" : " kernels use") + " tuned configs from " + db);
        sources(lines);
        if (!stale.isEmpty()) {
            Map<String, Integer> reasons = new TreeMap<>();
            for (String why : stale.values()) reasons.merge(why, 1, Integer::sum);
            List<String> parts = new ArrayList<>();
            reasons.forEach((why, n) -> parts.add(n + " from " + why));
            lines.add(stale.size() + (stale.size() == 1 ? " kernel uses a config" : " kernels use configs") + " measured elsewhere, as "
                    + "nothing from here exists for " + (stale.size() == 1 ? "it" : "them") + " (" + String.join("; ", parts)
                    + "); `kiln tune " + model + " --target " + target.name() + "` measures them here");
        }
        if (!keptDefaults.isEmpty())
            lines.add(keptDefaults.size() + (keptDefaults.size() == 1 ? " kernel keeps" : " kernels keep") + " the default config: no record "
                    + "beat the measured default by " + Math.round(MARGIN * 100) + " %");
        if (!untuned.isEmpty()) untunedLines(lines, model, target);
        return lines;
    }

    /** One line per group of tuned kernels that share a provenance: where and how their configs were measured. */
    private void sources(List<String> lines) {
        Map<String, Integer> groups = new LinkedHashMap<>();
        for (TuningRecord r : used.values()) groups.merge(source(r), 1, Integer::sum);
        List<Map.Entry<String, Integer>> sorted = new ArrayList<>(groups.entrySet());
        sorted.sort(Map.Entry.<String, Integer>comparingByValue().reversed());
        for (int i = 0; i < sorted.size() && i < SOURCES; i++)
            lines.add("  " + sorted.get(i).getValue() + " measured " + sorted.get(i).getKey());
        if (sorted.size() > SOURCES) lines.add("  and " + (sorted.size() - SOURCES) + " more sources (kiln db runs lists them)");
    }

    private static String source(TuningRecord r) {
        Provenance p = r.provenance();
        String device = deviceOf(r).isEmpty() ? r.deviceKey() : deviceOf(r);
        int slash = r.deviceKey().indexOf('/');
        String host = slash < 0 ? r.deviceKey() : r.deviceKey().substring(0, slash);
        // A drift reference or a confirmation re-times a config; the run's search is what found it.
        String how = r.isTrial() ? r.tuner() + " search" : "re-timed in a tune";
        return "on " + device + " (host " + host + ", Kiln " + r.kilnVersion() + (p.llvmVersion().isEmpty() ? "" : ", LLVM " + p.llvmVersion())
                + ", " + how + (p.trials() > 0 ? " of " + p.trials() + " trials" : "") + ", "
                + r.timestamp().toString().substring(0, 10) + ")";
    }

    /**
     * The workloads left on defaults, each with the time tuning would save: its default time
     * estimated from its work at the default configs' median throughput in this database (same
     * ops where measured), times the median gain tuning brought there.
     */
    private void untunedLines(List<String> lines, String model, Target target) {
        Gains gains = Gains.of(db.all().stream().filter(r -> r.target().equals(target.name())).toList());
        long trials = 0;
        double saved = 0;
        int estimated = 0;
        List<String[]> rows = new ArrayList<>();
        for (var e : untuned.entrySet()) {
            Untuned u = e.getValue();
            trials += Math.min(u.size, TRIALS_PER_TASK);
            double[] est = gains.estimate(e.getKey(), u.flops);
            String kernels = u.kernels > 1 ? " x" + u.kernels : "";
            if (est == null) {
                rows.add(new String[] {"-1", "  " + e.getKey() + kernels + ": no estimate (no workload of its op tuned in this database)"});
                continue;
            }
            double save = est[0] * est[1] * u.kernels;
            saved += save;
            estimated++;
            rows.add(new String[] {Double.toString(save), String.format(Locale.ROOT, "  %s%s: default ~%.3f ms, tuning saves ~%.3f ms (%.0f %%)",
                    e.getKey(), kernels, est[0] * 1e3 * u.kernels, save * 1e3, est[1] * 100)});
        }
        rows.sort((a, b) -> Double.compare(Double.parseDouble(b[0]), Double.parseDouble(a[0])));
        lines.add(defaultKernels() + " kernel" + (defaultKernels() == 1 ? "" : "s") + " on default configs, no record of "
                + (untuned.size() == 1 ? "its workload" : "their " + untuned.size() + " workloads") + " here"
                + (estimated == 0 ? "" : String.format(Locale.ROOT, "; tuning the %d estimated would save about %.3f ms per run "
                + "(from the %d workloads tuned in this database)", estimated, saved * 1e3, gains.workloads())) + ":");
        for (String[] r : rows) lines.add(r[1]);
        lines.add("run `kiln tune " + model + " --target " + target.name() + "` (about " + trials + " trials)");
    }
}
