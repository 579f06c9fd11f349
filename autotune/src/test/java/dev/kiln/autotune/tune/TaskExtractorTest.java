package dev.kiln.autotune.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.schedules.ops.Workload;
import dev.kiln.targets.Target;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Task extraction on ResNet-18: repeated blocks share workloads, weights count the kernels, FLOPs follow the shapes. */
class TaskExtractorTest {
    @Test
    void resnet18RepeatsWorkloadsAndWeightsCountTheKernels() {
        Target target = Target.avx2();
        TaskExtractor.Extracted ex = Models.extract("zoo:resnet18", target);
        assertTrue(ex.tasks().size() > 3, "tasks: " + ex.tasks().size());
        assertTrue(ex.tasks().size() < ex.covered(), ex.tasks().size() + " distinct workloads, " + ex.covered() + " kernels covered");
        assertEquals(ex.covered(), ex.tasks().stream().mapToInt(TaskExtractor.Task::weight).sum());
        assertTrue(ex.covered() <= ex.kernels());

        // Independently: count the graph's kernels per workload key, keeping those with a real config space.
        Set<String> keys = new HashSet<>();
        for (TaskExtractor.Task t : ex.tasks()) {
            assertTrue(keys.add(t.key()), "workload " + t.key() + " listed twice");
            assertTrue(t.space().size() > 1, t.key() + " has nothing to tune");
            long sharing = ex.graph().nodes().stream().filter(n -> Workload.of(n, ex.graph(), target).key().equals(t.key())).count();
            assertEquals(sharing, t.weight(), "weight of " + t.key());
        }
    }

    @Test
    void convFlopsAreTwiceTheMultiplyAdds() {
        TaskExtractor.Extracted ex = Models.extract("zoo:resnet18", Target.avx2());
        // The stem: 3 -> 64 channels, 7x7 kernel, 224 -> 112 output pixels per side, batch 1; its fused Relu adds one per output.
        double stem = 2.0 * 64 * 112 * 112 * 3 * 7 * 7 + 64 * 112 * 112;
        assertTrue(ex.tasks().stream().anyMatch(t -> t.flops() == stem),
                "no task with the stem's " + stem + " FLOPs among " + ex.tasks().stream().map(TaskExtractor.Task::flops).toList());
        // A 3x3 64 -> 64 convolution on 56x56, and its Relu.
        double block = 2.0 * 64 * 56 * 56 * 64 * 3 * 3 + 64 * 56 * 56;
        assertTrue(ex.tasks().stream().anyMatch(t -> t.flops() == block));
    }
}
