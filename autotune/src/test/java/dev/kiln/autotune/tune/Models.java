package dev.kiln.autotune.tune;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.passes.BlockLayout;
import dev.kiln.irhigh.passes.FoldBatchNorm;
import dev.kiln.irhigh.passes.FoldConstants;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.irhigh.passes.RemoveIdentity;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.Map;

/**
 * Tasks of zoo models for the tests. The graph passes are the driver's GraphPipeline in the same
 * order (autotune cannot see the driver); the driver's end-to-end tests cover the real pipeline.
 */
public final class Models {
    private Models() {}

    public static TaskExtractor.Extracted extract(String model, Target target) {
        return TaskExtractor.fromModel(model, Map.of(), target, g -> passes(g, target));
    }

    private static Graph passes(Graph g, Target target) {
        ShapeInference.run(g);
        RemoveIdentity.run(g);
        FoldConstants.run(g);
        FoldBatchNorm.run(g);
        FoldConstants.run(g);
        ShapeInference.run(g);
        if (target instanceof CpuTarget cpu) BlockLayout.run(g, cpu.channelBlock());
        FuseOps.run(g);
        return g;
    }
}
