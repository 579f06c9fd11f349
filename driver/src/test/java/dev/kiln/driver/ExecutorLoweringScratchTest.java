package dev.kiln.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.executor.ExecutorLowering;
import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Children;
import dev.kiln.targets.Target;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * On a whole model, kernel-local buffers allocated once per call (MobileNetV2's padded copies for
 * its depthwise convs) become workspace slots, so a run never takes them from malloc; per-tile buffers inside
 * loops stay in the kernel.
 */
class ExecutorLoweringScratchTest {
    /** Whether {@code s} allocates outside every loop. */
    private static boolean allocatesOutsideLoops(Stmt s) {
        if (s instanceof Stmt.Allocate) return true;
        if (s instanceof Stmt.For) return false;
        boolean[] found = {false};
        Children.forEach(s, c -> found[0] |= allocatesOutsideLoops(c), e -> {});
        return found[0];
    }

    @Test
    void onceACallBuffersAreWorkspaceSlots() {
        Graph g = GraphPipeline.run(ModelSource.load("zoo:mobilenetv2", Map.of()), Target.parse("x86_64-avx512"), (pass, graph) -> {});
        ExecutorLowering.Plan plan = ExecutorLowering.run(g, Target.parse("x86_64-avx512"), (name, fn) -> {});
        ModuleSpec spec = plan.spec();
        for (int i = 0; i < spec.kernels().size(); i++) {
            PrimFunc f = spec.kernels().get(i);
            assertTrue(!allocatesOutsideLoops(f.body()), f.name() + " still allocates per call");
            assertEquals(f.params().size(), spec.calls().get(i).args().size(), f.name());
        }
        assertTrue(plan.scratchBytes() > 0, "MobileNetV2's depthwise convs copy their padded inputs");
        assertTrue(plan.workspaceBytes() < plan.intermediateBytes() + plan.scratchBytes(), "buffers share memory");
    }
}
