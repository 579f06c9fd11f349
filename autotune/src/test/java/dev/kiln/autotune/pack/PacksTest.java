package dev.kiln.autotune.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.Provenance;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.runner.HostInfo;
import dev.kiln.autotune.tune.KilnVersion;
import dev.kiln.autotune.tune.Models;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.autotune.tune.TunedConfigs;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.irhigh.Node;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Packs out of one database and into another: the same configs chosen, all-or-nothing checks, conflicts, stand-ins. */
class PacksTest {
    static final Target TARGET = Target.avx2();
    static TaskExtractor.Extracted mlp;

    @TempDir
    Path dir;

    @BeforeAll
    static void extract() {
        mlp = Models.extract("zoo:mlp", TARGET);
        assertEquals(3, mlp.tasks().size());
    }

    /** A record measured here (this Kiln, LLVM and CPU), or on {@code cpu} where not null. */
    static TuningRecord record(TaskExtractor.Task t, Config c, double seconds, double reference, String tuner, String cpu) {
        String device = cpu != null ? cpu : HostInfo.describe().getCpuModel();
        return new TuningRecord(TARGET.name(), t.key(), t.workload().description(), c.toString(), "", List.of(seconds, seconds),
                ErrorCode.NONE, null, t.flops(), Instant.now(), KilnVersion.get(), "box/" + device, tuner, 0, "run-" + device,
                "threads=1,cache=warm", reference, new Provenance(LlvmModule.llvmVersion(), device, "+avx2", 64));
    }

    /** Every task tuned: the default at 2 ms (a reference), a slower config, a faster one (the last config of its space). */
    static void tune(TuningDatabase db, double fastSeconds) {
        for (TaskExtractor.Task t : mlp.tasks()) {
            db.putWorkload(TARGET.name(), t.key(), t.workload().canonical());
            Config def = t.space().defaults();
            db.append(record(t, def, 2e-3, 2e-3, TuningRecord.REFERENCE, null));
            db.append(record(t, t.space().get(1), 3e-3, 2e-3, "xgb", null));
            db.append(record(t, t.space().get(t.space().size() - 1), fastSeconds, 2e-3, "xgb", null));
        }
    }

    TuningDatabase fresh(String name) {
        return TuningDatabase.open("jdbc:sqlite:" + dir.resolve(name));
    }

    static List<Config> chosen(TuningDatabase db) {
        TunedConfigs configs = new TunedConfigs(db);
        List<Config> out = new ArrayList<>();
        for (Node n : mlp.graph().nodes()) out.add(used(configs, n));
        return out;
    }

    /** The config {@code configs} schedules {@code n} with (knobs name their config once lowered). */
    static Config used(TunedConfigs configs, Node n) {
        Knobs k = configs.knobsFor(n, mlp.graph(), TARGET);
        OpInventory.lower(n, mlp.graph(), TARGET, k);
        return k.config();
    }

    @Test
    void aPackMakesAFreshDatabaseChooseTheSameConfigsAndImportingTwiceAddsNothing() {
        Path pack = dir.resolve("mlp.kpack");
        try (TuningDatabase a = fresh("a.db"); TuningDatabase b = fresh("b.db")) {
            tune(a, 1e-3);
            Packs.ExportReport r = Packs.export(a, pack, List.of(), null, "0.1.0", "20.1.7");
            assertEquals(3, r.header().workloads());
            assertEquals(6, r.header().records()); // the chosen config and the default's record, per workload
            assertTrue(r.skipped().isEmpty(), r.skipped().toString());
            Packs.ImportReport first = Packs.importInto(b, pack);
            assertEquals(6, first.added());
            List<Config> want = chosen(a);
            assertEquals(want, chosen(b));
            for (int i = 0; i < mlp.tasks().size(); i++) {
                TaskExtractor.Task t = mlp.tasks().get(i);
                assertTrue(want.contains(t.space().get(t.space().size() - 1)), "the fast config of " + t.key() + " is chosen");
            }
            Packs.ImportReport second = Packs.importInto(b, pack);
            assertEquals(0, second.added());
            assertEquals(6, second.duplicates());
            assertEquals(6, b.count());
        }
    }

    @Test
    void anyFlawRejectsTheWholePackAndImportsNothing() throws Exception {
        Path good = dir.resolve("good.kpack");
        try (TuningDatabase a = fresh("a.db")) {
            tune(a, 1e-3);
            Packs.export(a, good, List.of(), null, "0.1.0", "20.1.7");
        }
        Pack pack = Pack.read(good);
        // A config outside today's space of its workload, in an otherwise valid pack (its checksum is right).
        List<PackEntry> entries = new ArrayList<>(pack.entries());
        PackEntry last = entries.removeLast();
        TuningRecord bad = last.chosen();
        bad = new TuningRecord(bad.target(), bad.workloadKey(), bad.workloadDesc(), "no_such_knob=4", bad.trace(), bad.costsSeconds(),
                bad.errorCode(), bad.errorMessage(), bad.flops(), bad.timestamp(), bad.kilnVersion(), bad.deviceKey(), bad.tuner(),
                bad.trial(), bad.runId(), bad.conditions(), bad.referenceCost(), bad.provenance());
        entries.add(new PackEntry(last.target(), last.workloadKey(), last.canonical(), List.of(bad)));
        Path outOfSpace = dir.resolve("space.kpack");
        Pack.write(outOfSpace, entries, "0.1.0", "20.1.7");
        // A workload filed under another workload's key.
        entries = new ArrayList<>(pack.entries());
        PackEntry first = entries.removeFirst();
        entries.addFirst(new PackEntry(first.target(), first.workloadKey(), pack.entries().get(1).canonical(), first.records()));
        Path wrongKey = dir.resolve("key.kpack");
        Pack.write(wrongKey, entries, "0.1.0", "20.1.7");
        // One byte of the body changed; the body cut short; a 1 GB file.
        byte[] bytes = Files.readAllBytes(good);
        byte[] flipped = bytes.clone();
        flipped[flipped.length - 40] ^= 0x01;
        Path checksum = Files.write(dir.resolve("sum.kpack"), flipped);
        Path truncated = Files.write(dir.resolve("cut.kpack"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        Path huge = dir.resolve("huge.kpack");
        try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        Path notAPack = Files.writeString(dir.resolve("text.kpack"), "hello\n", StandardCharsets.UTF_8);
        Map<Path, String> expected = new LinkedHashMap<>();
        expected.put(outOfSpace, "not in today's config space");
        expected.put(wrongKey, "hashes to");
        expected.put(checksum, "fails its checksum");
        expected.put(truncated, "truncated");
        expected.put(huge, "more than the");
        expected.put(notAPack, "not a Kiln pack");
        try (TuningDatabase b = fresh("b.db")) {
            for (var e : expected.entrySet()) {
                PackException x = assertThrows(PackException.class, () -> Packs.importInto(b, e.getKey()), e.getKey().toString());
                assertTrue(x.getMessage().contains(e.getValue()) && x.getMessage().contains("Nothing was imported"),
                        e.getKey() + ": " + x.getMessage());
                assertEquals(0, b.count(), "nothing imported from " + e.getKey());
            }
        }
    }

    @Test
    void aConflictKeepsTheFasterConfigAndBothRecords() {
        Path pack = dir.resolve("fast.kpack");
        try (TuningDatabase other = fresh("other.db"); TuningDatabase here = fresh("here.db")) {
            tune(other, 0.5e-3);
            Packs.export(other, pack, List.of(), null, "0.1.0", "20.1.7");
            // Here the middle config won, at 1.5 ms; the pack's config ran at 0.5 ms beside the same default level.
            for (TaskExtractor.Task t : mlp.tasks()) {
                here.append(record(t, t.space().defaults(), 2e-3, 2e-3, TuningRecord.REFERENCE, null));
                here.append(record(t, t.space().get(1), 1.5e-3, 2e-3, "xgb", null));
            }
            Packs.ImportReport r = Packs.importInto(here, pack);
            assertEquals(3, r.conflicts().size(), r.conflicts().toString());
            assertTrue(r.conflicts().getFirst().contains("the pack's"), r.conflicts().getFirst());
            assertEquals(chosen(other), chosen(here));
            for (TaskExtractor.Task t : mlp.tasks())
                assertTrue(here.records(TARGET.name(), t.key()).stream().anyMatch(x -> x.config().equals(t.space().get(1).toString())),
                        "the record measured here stays");
        }
    }

    @Test
    void recordsOfAnotherCpuStandInOnlyWhereNothingFromHereExists() {
        try (TuningDatabase db = fresh("mixed.db")) {
            TaskExtractor.Task both = mlp.tasks().get(0), elsewhere = mlp.tasks().get(1);
            Config fastThere = both.space().get(both.space().size() - 1), slowerHere = both.space().get(1);
            db.append(record(both, both.space().defaults(), 2e-3, 2e-3, TuningRecord.REFERENCE, null));
            db.append(record(both, slowerHere, 1.5e-3, 2e-3, "xgb", null));
            db.append(record(both, fastThere, 0.2e-3, 2e-3, "xgb", "Other CPU 9000"));
            Config only = elsewhere.space().get(elsewhere.space().size() - 1);
            db.append(record(elsewhere, elsewhere.space().defaults(), 2e-3, 2e-3, TuningRecord.REFERENCE, "Other CPU 9000"));
            db.append(record(elsewhere, only, 1e-3, 2e-3, "xgb", "Other CPU 9000"));
            TunedConfigs configs = new TunedConfigs(db);
            assertEquals(slowerHere, used(configs, both.node()), "here's record wins over a faster one from elsewhere");
            assertEquals(only, used(configs, elsewhere.node()), "with nothing from here, elsewhere's stands in");
            assertEquals(Map.of(elsewhere.node().name(), "CPU Other CPU 9000"), configs.staleKernels());
            used(configs, mlp.tasks().get(2).node()); // no record at all: on defaults, with an estimate
            String summary = String.join("\n", configs.summary("zoo:mlp", TARGET));
            assertTrue(summary.contains("1 kernel uses a config measured elsewhere") && summary.contains("CPU Other CPU 9000"), summary);
            // The third workload (a Gemm like the other two) is estimated from them.
            assertTrue(summary.contains("tuning the 1 estimated would save about"), summary);
        }
    }
}
