package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.kiln.autotune.features.FeatureExtractor;
import dev.kiln.autotune.tune.OneNodeBuilder;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.codegen.executor.ExecutorLowering;
import dev.kiln.driver.GraphPipeline;
import dev.kiln.frontend.ModelSource;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.ops.Workload;
import dev.kiln.schedules.ops.WorkloadGraph;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel of every zoo model, after the compiler's graph passes for a CPU and a GPU target,
 * rebuilt from its workload text alone: the same key, the same config space (size, default and
 * random points of each accepted by the other), and a one-kernel graph the tuner's candidate
 * builder plans and lowers as it does the task's own.
 */
class WorkloadRebuildZooTest {
    /** Random points of each space checked against the other space, per kernel. */
    private static final int RANDOM_CONFIGS = 4;
    /** Random points lowered both ways, per workload. */
    private static final int LOWERED_CONFIGS = 2;

    private static OneNodeBuilder builder(TaskExtractor.Task task, Target target, Path dir) {
        return OneNodeBuilder.library(task, target, dir);
    }

    /**
     * The cost model's features of {@code c}'s kernel, or null when the config does not lower. The
     * extractor breaks ties between buffers by name, and the rebuilt kernel's values have other
     * names than the model's, so the buffer slots are compared as a set.
     */
    private static List<String> features(OneNodeBuilder b, Config c, ConfigSpace space) {
        double[] f;
        try {
            f = b.features(c);
        } catch (IllegalArgumentException e) {
            return null;
        }
        List<String> names = FeatureExtractor.featureNames(space);
        List<String> rest = new ArrayList<>();
        Map<String, List<Double>> buffers = new TreeMap<>();
        for (int i = 0; i < f.length; i++) {
            String slot = names.get(i).matches("buf\\d+\\..*") ? names.get(i).substring(0, names.get(i).indexOf('.')) : null;
            if (slot == null) rest.add(names.get(i) + "=" + f[i]);
            else buffers.computeIfAbsent(slot, k -> new ArrayList<>()).add(f[i]);
        }
        rest.addAll(buffers.values().stream().map(List::toString).sorted().toList());
        return rest;
    }

    static Stream<Arguments> modelsAndTargets() {
        return Stream.of("x86_64-avx512", "aarch64-neon", "cuda-sm80", "opencl:intel-xe")
                .flatMap(t -> Zoo.names().stream().map(m -> Arguments.of(m, t)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("modelsAndTargets")
    void everyKernelRebuildsFromItsText(String model, String targetName, @TempDir Path dir) {
        Target target = Target.parse(targetName);
        Graph g = GraphPipeline.run(ModelSource.load("zoo:" + model, Map.of()), target, (pass, graph) -> {});
        Random rng = new Random(model.hashCode() ^ targetName.hashCode());
        Map<String, ConfigSpace> rebuiltSpaces = new HashMap<>();
        Set<String> planned = new HashSet<>();
        for (Node node : g.nodes()) {
            Workload w = Workload.of(node, g, target);
            WorkloadGraph.Rebuilt r = WorkloadGraph.rebuild(w.canonical());
            String what = model + " on " + target.name() + ", kernel " + node.name() + " (" + w.description() + ")";
            assertEquals(w.key(), r.workload().key(), what);

            // The same text rebuilds the same kernel, so its space is read once per workload; the original's per kernel.
            ConfigSpace original = OpInventory.space(node, g, target), rebuilt = rebuiltSpaces.computeIfAbsent(w.canonical(), k -> r.space());
            assertEquals(original.size(), rebuilt.size(), what);
            assertEquals(original.defaults().toString(), rebuilt.defaults().toString(), what);
            for (int i = 0; i < RANDOM_CONFIGS; i++) {
                rebuilt.check(Config.parse(original.random(rng).toString()));
                original.check(Config.parse(rebuilt.random(rng).toString()));
            }
            assertEquals(original, rebuilt, what);

            // Once per workload: the tuner's candidate builder takes the rebuilt kernel as a task of its own and lowers
            // it as it lowers the original's. A random point may not lower at all (a knob's values can depend on another
            // knob's, so the space read at the defaults is not a product): then neither lowers.
            if (original.size() > 1 && planned.add(w.key())) {
                OneNodeBuilder mine = builder(new TaskExtractor.Task(w, node, g, original, 1, 0), target, dir);
                OneNodeBuilder theirs = builder(new TaskExtractor.Task(r.workload(), r.node(), r.graph(), rebuilt, 1, 0), target, dir);
                for (int i = 0; i < LOWERED_CONFIGS; i++) {
                    Config c = original.random(rng);
                    assertEquals(features(mine, c, original), features(theirs, c, rebuilt), what + ", config " + c);
                }
                Config c = rebuilt.defaults();
                var plan = ExecutorLowering.run(theirs.graph(), target, (n, graph, t) -> Knobs.of(c), (name, fn) -> {});
                plan.spec().validate();
                assertEquals(1, plan.spec().calls().size(), what);
            }
        }
        assertFalse(planned.isEmpty(), model + " on " + target.name() + " has kernels to tune");
    }
}
