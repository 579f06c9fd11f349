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
}
