package dev.kiln.autotune.pack;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.autotune.tune.TunedConfigs;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.ops.WorkloadGraph;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Packs out of and into a tuning database. Export writes, per workload, the record whose config a
 * compile would schedule it with (the best, where it beats the measured default by the compile's
 * margin, else the default's) and the default config's record that sets its level. Import checks
 * the whole pack first (format, checksum, sizes; every workload rebuilt from its canonical form
 * and hashed to its key; every config inside today's config space of that workload) and then
 * writes everything in one transaction, or nothing.
 */
public final class Packs {
    /** The longest canonical form a pack may carry. */
    static final int MAX_CANONICAL = 64 << 10;

    private Packs() {}

    /** What an export wrote, and the workloads it left out with the reason. */
    public record ExportReport(Path file, Pack.Header header, List<String> skipped) {}

    /**
     * Writes the pack of {@code db}'s records for {@code targets} (all targets with records when
     * empty) to {@code file}. {@code only}, when not null, restricts it to these workloads (target
     * to key to canonical form, a model's kernels) and supplies the canonical forms that records of
     * older Kilns lack.
     */
    public static ExportReport export(TuningDatabase db, Path file, List<String> targets, Map<String, Map<String, String>> only,
                                      String kilnVersion, String llvmVersion) {
        List<PackEntry> entries = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        List<String> chosenTargets = targets.isEmpty() ? db.targets() : targets;
        for (String target : chosenTargets) {
            Map<String, String> wanted = only == null ? null : only.getOrDefault(target, Map.of());
            for (String key : db.bestPerWorkload(target).keySet()) {
                if (wanted != null && !wanted.containsKey(key)) continue;
                Optional<String> canonical = db.workload(target, key);
                if (canonical.isEmpty() && wanted != null) canonical = Optional.of(wanted.get(key));
                if (canonical.isEmpty()) {
                    skipped.add(key + " on " + target + ": its records come from a Kiln that did not keep the workload's form; "
                            + "export with --model MODEL to describe it");
                    continue;
                }
                WorkloadGraph.Rebuilt kernel;
                try {
                    kernel = WorkloadGraph.rebuild(canonical.get());
                } catch (IllegalArgumentException e) {
                    skipped.add(key + " on " + target + ": " + e.getMessage());
                    continue;
                }
                if (!kernel.workload().key().equals(key)) {
                    skipped.add(key + " on " + target + ": its stored form hashes to " + kernel.workload().key());
                    continue;
                }
                ConfigSpace space = OpInventory.space(kernel.node(), kernel.graph(), kernel.target());
                if (space.size() <= 1) continue;
                entry(target, key, canonical.get(), new WorkloadRecords(db.records(target, key), space.defaults().toString()))
                        .ifPresent(entries::add);
            }
        }
        return new ExportReport(file, Pack.write(file, entries, kilnVersion, llvmVersion), skipped);
    }

    /** The chosen record of a workload and, where it is not the default, the default record nearest its level. */
    private static Optional<PackEntry> entry(String target, String key, String canonical, WorkloadRecords records) {
        List<TuningRecord> out = chosenRecords(records);
        return out.isEmpty() ? Optional.empty() : Optional.of(new PackEntry(target, key, canonical, out));
    }

    /**
     * What a pack keeps of a workload's {@code records} whose default config is {@code defaults}:
     * first the record whose config a compile uses (the best, where it beats the measured default
     * by the compile's margin), then, where that is not the default, the default's record nearest
     * its level; empty where no config was measured without error.
     */
    public static List<TuningRecord> chosenRecords(List<TuningRecord> records, String defaults) {
        return chosenRecords(new WorkloadRecords(records, defaults));
    }

    private static List<TuningRecord> chosenRecords(WorkloadRecords records) {
        Optional<TuningRecord> best = records.best();
        TuningRecord def = null;
        for (int i = 0; i < records.size(); i++) {
            TuningRecord r = records.get(i);
            if (!r.ok() || !r.config().equals(records.defaults())) continue;
            if (def == null || Math.abs(r.meanCost() - records.level()) < Math.abs(def.meanCost() - records.level())) def = r;
        }
        List<TuningRecord> out = new ArrayList<>();
        if (best.isPresent() && !best.get().config().equals(records.defaults()) && TunedConfigs.beatsDefault(best.get(), records))
            out.add(best.get());
        if (def != null) out.add(def);
        return out;
    }

    /** What an import found and did. {@code conflicts}: workloads whose chosen config differed here, and which one is kept. */
    public record ImportReport(Path file, long workloads, long records, long added, List<String> conflicts) {
        public long duplicates() {
            return records - added;
        }

        /** One line for the user; {@code into} names the database. */
        public String describe(String into) {
            return "imported " + added + " of " + records + " records (" + workloads + " workloads) from " + file + " into " + into
                    + (duplicates() > 0 ? "; " + duplicates() + " were already there" : "")
                    + (conflicts.isEmpty() ? "" : "; " + conflicts.size() + " workload" + (conflicts.size() == 1 ? "" : "s")
                    + " had another config here");
        }
    }

    /**
     * Checks the pack at {@code file} completely, then adds its records and workloads to {@code db}
     * in one transaction. Throws {@link PackException} naming what failed, with nothing imported.
     */
    public static ImportReport importInto(TuningDatabase db, Path file) {
        Pack pack;
        try {
            pack = Pack.read(file);
        } catch (PackException e) {
            throw new PackException(e.getMessage() + " Nothing was imported.", e);
        }
        List<TuningRecord> records = new ArrayList<>();
        Map<String, Map<String, String>> workloads = new LinkedHashMap<>();
        Map<PackEntry, String> defaults = new LinkedHashMap<>();
        int line = 1;
        for (PackEntry e : pack.entries()) {
            line++;
            try {
                defaults.put(e, check(e));
            } catch (IllegalArgumentException ex) {
                throw new PackException("pack " + file + " line " + line + " (workload " + e.workloadKey() + " on " + e.target() + "): "
                        + ex.getMessage() + ". Nothing was imported.", ex);
            }
            records.addAll(e.records());
            workloads.computeIfAbsent(e.target(), t -> new LinkedHashMap<>()).put(e.workloadKey(), e.canonical());
        }
        Map<PackEntry, String> before = new LinkedHashMap<>();
        for (var e : defaults.entrySet()) chosen(db, e.getKey(), e.getValue()).ifPresent(c -> before.put(e.getKey(), c));
        long added = db.importAll(records, workloads);
        List<String> conflicts = new ArrayList<>();
        for (var e : before.entrySet()) {
            String packConfig = e.getKey().chosen().config();
            if (e.getValue().equals(packConfig)) continue;
            String now = chosen(db, e.getKey(), defaults.get(e.getKey())).orElse("");
            conflicts.add(e.getKey().workloadKey() + " on " + e.getKey().target() + ": here " + e.getValue() + ", in the pack "
                    + packConfig + " (" + e.getKey().chosen().provenance().device() + "); the faster is kept: "
                    + (now.equals(packConfig) ? "the pack's" : "this database's"));
        }
        return new ImportReport(file, pack.entries().size(), records.size(), added, conflicts);
    }

    /** The config a compile would use for {@code e}'s workload from {@code db}'s records, if any record exists. */
    private static Optional<String> chosen(TuningDatabase db, PackEntry e, String defaults) {
        WorkloadRecords records = new WorkloadRecords(db.records(e.target(), e.workloadKey()), defaults);
        Optional<TuningRecord> best = records.best();
        if (best.isEmpty()) return Optional.empty();
        return Optional.of(TunedConfigs.beatsDefault(best.get(), records) ? best.get().config() : defaults);
    }

    /**
     * Checks one entry against today's Kiln: its canonical form rebuilds a kernel whose key is the
     * entry's, and each record is a successful measurement of that workload whose config lies in
     * the kernel's config space. Returns the space's default config.
     */
    static String check(PackEntry e) {
        if (e.canonical().length() > MAX_CANONICAL)
            throw new IllegalArgumentException("its workload form is longer than " + MAX_CANONICAL + " characters");
        WorkloadGraph.Rebuilt kernel = WorkloadGraph.rebuild(e.canonical());
        if (!kernel.workload().key().equals(e.workloadKey()))
            throw new IllegalArgumentException("its workload form hashes to " + kernel.workload().key() + ", not to its key");
        if (!kernel.target().name().equals(e.target()))
            throw new IllegalArgumentException("its workload form is for target " + kernel.target().name());
        ConfigSpace space = OpInventory.space(kernel.node(), kernel.graph(), kernel.target());
        for (TuningRecord r : e.records()) {
            if (!r.target().equals(e.target()) || !r.workloadKey().equals(e.workloadKey()))
                throw new IllegalArgumentException("a record of " + r.workloadKey() + " on " + r.target() + " is filed under it");
            if (!r.ok()) throw new IllegalArgumentException("a record is an error (" + r.errorCode() + "): packs hold measured configs");
            Config c;
            try {
                c = Config.parse(r.config());
                space.check(c);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("config " + r.config() + " is not in today's config space of the workload ("
                        + ex.getMessage() + ")", ex);
            }
            // Some knobs' values depend on others (a conv's tile_blocks on its tile_cols): the space checks each
            // against the defaults, so the config is also scheduled once, as a compile would.
            try {
                OpInventory.lower(kernel.node(), kernel.graph(), kernel.target(), Knobs.of(c));
            } catch (RuntimeException ex) {
                throw new IllegalArgumentException("config " + r.config() + " does not schedule the workload (" + ex.getMessage() + ")", ex);
            }
        }
        return space.defaults().toString();
    }
}
