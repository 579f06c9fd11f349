package dev.kiln.autotune.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.irhigh.Node;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The config source of {@code kiln compile --db}: best records where they fit, defaults (and a word) elsewhere. */
class TunedConfigsTest {
    static TuningRecord record(TaskExtractor.Task t, Target target, String config, double seconds, ErrorCode code) {
        return new TuningRecord(target.name(), t.key(), t.workload().description(), config, "", code == ErrorCode.NONE
                ? List.of(seconds) : List.of(), code, code == ErrorCode.NONE ? null : "failed", t.flops(), Instant.now(),
                "test", "test-device", "random", 0, "run");
    }

    @Test
    void bestFittingRecordsAreUsedAndTheRestNamed(@TempDir Path dir) {
        Target target = Target.avx2();
        TaskExtractor.Extracted ex = Models.extract("zoo:mlp", target);
        List<TaskExtractor.Task> tasks = ex.tasks();
        assertEquals(3, tasks.size());
        TaskExtractor.Task fast = tasks.get(0), stale = tasks.get(1), untuned = tasks.get(2);
        Config slowConfig = fast.space().get(1), fastConfig = fast.space().get(fast.space().size() - 1);
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("t.db"))) {
            db.append(record(fast, target, slowConfig.toString(), 2e-3, ErrorCode.NONE));
            db.append(record(fast, target, fastConfig.toString(), 1e-3, ErrorCode.NONE));
            db.append(record(fast, target, fast.space().get(2).toString(), 0, ErrorCode.CRASH)); // errors never win
            db.append(record(stale, target, "no_such_knob=4", 1e-4, ErrorCode.NONE));

            TunedConfigs tuned = new TunedConfigs(db);
            for (Node n : ex.graph().nodes()) {
                Knobs k = tuned.knobsFor(n, ex.graph(), target);
                OpInventory.lower(n, ex.graph(), target, k);
                Config expected = n == fast.node() ? fastConfig : OpInventory.space(n, ex.graph(), target).defaults();
                assertEquals(expected, k.config(), "config used for " + n.name());
            }
            assertEquals(List.of(fast.node().name()), tuned.tunedKernels());
            assertEquals(2, tuned.defaultKernels());
            assertEquals(1, tuned.warnings().size());
            assertTrue(tuned.warnings().getFirst().contains(stale.key()) && tuned.warnings().getFirst().contains("no longer fits"),
                    tuned.warnings().getFirst());
            String summary = String.join("\n", tuned.summary("zoo:mlp", target));
            assertTrue(summary.contains("1 kernel uses tuned configs"), summary);
            assertTrue(summary.contains("2 kernels on default configs") && summary.contains(untuned.key())
                    && summary.contains("kiln tune zoo:mlp --target " + target.name()), summary);
        }
    }

    /**
     * A record barely faster than the measured default (within the 3 % margin of noise) leaves the
     * kernel on its default; one clearly faster is used; without a measured default the record is used.
     */
    @Test
    void recordsMustBeatTheMeasuredDefault(@TempDir Path dir) {
        Target target = Target.avx2();
        TaskExtractor.Extracted ex = Models.extract("zoo:mlp", target);
        TaskExtractor.Task noise = ex.tasks().get(0), clear = ex.tasks().get(1), unmeasured = ex.tasks().get(2);
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("t.db"))) {
            Config other0 = noise.space().get(noise.space().size() - 1), other1 = clear.space().get(clear.space().size() - 1),
                    other2 = unmeasured.space().get(unmeasured.space().size() - 1);
            db.append(record(noise, target, noise.space().defaults().toString(), 1.00e-3, ErrorCode.NONE));
            db.append(record(noise, target, other0.toString(), 0.99e-3, ErrorCode.NONE));  // 1 % faster: noise
            db.append(record(clear, target, clear.space().defaults().toString(), 1.00e-3, ErrorCode.NONE));
            db.append(record(clear, target, other1.toString(), 0.80e-3, ErrorCode.NONE));  // 25 % faster
            db.append(record(unmeasured, target, other2.toString(), 1.00e-3, ErrorCode.NONE));

            TunedConfigs tuned = new TunedConfigs(db);
            for (Node n : ex.graph().nodes()) {
                Knobs k = tuned.knobsFor(n, ex.graph(), target);
                OpInventory.lower(n, ex.graph(), target, k);
                Config expected = n == clear.node() ? other1 : n == unmeasured.node() ? other2
                        : OpInventory.space(n, ex.graph(), target).defaults();
                assertEquals(expected, k.config(), "config used for " + n.name());
            }
            assertEquals(List.of(noise.node().name()), tuned.keptDefaultKernels());
            assertFalse(tuned.tunedKernels().contains(noise.node().name()));
            String summary = String.join("\n", tuned.summary("zoo:mlp", target));
            assertTrue(summary.contains("1 kernel keeps the default config: no record beat the measured default by 3 %"), summary);
        }
    }

    /** A VNNI target schedules with the records of the target it extends when it has none of its own; its own win. */
    @Test
    void vnniTargetsUseTheRecordsOfTheTargetTheyExtend(@TempDir Path dir) {
        Target base = dev.kiln.targets.CpuTarget.avx2(), vnni = dev.kiln.targets.CpuTarget.avx2Vnni();
        TaskExtractor.Extracted ex = Models.extract("zoo:mlp", base);
        TaskExtractor.Task t = ex.tasks().get(0), own = ex.tasks().get(1);
        Config inherited = t.space().get(t.space().size() - 1), baseOnly = own.space().get(1), mine = own.space().get(own.space().size() - 1);
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("t.db"))) {
            db.append(record(t, base, inherited.toString(), 1e-3, ErrorCode.NONE));
            db.append(record(own, base, baseOnly.toString(), 1e-4, ErrorCode.NONE));
            TaskExtractor.Task ownVnni = Models.extract("zoo:mlp", vnni).tasks().get(1);
            db.append(record(ownVnni, vnni, mine.toString(), 1e-3, ErrorCode.NONE));
            TunedConfigs tuned = new TunedConfigs(db);
            Knobs k = tuned.knobsFor(t.node(), ex.graph(), vnni);
            OpInventory.lower(t.node(), ex.graph(), vnni, k);
            assertEquals(inherited, k.config());
            Knobs k2 = tuned.knobsFor(own.node(), ex.graph(), vnni);
            OpInventory.lower(own.node(), ex.graph(), vnni, k2);
            assertEquals(mine, k2.config(), "the VNNI target's own record, though the other is faster");
        }
    }
}
