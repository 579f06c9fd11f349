package dev.kiln.driver;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.passes.BlockLayout;
import dev.kiln.irhigh.passes.BoundedOutputs;
import dev.kiln.irhigh.passes.Conv1dAs2d;
import dev.kiln.irhigh.passes.DecomposeQuantizedProducts;
import dev.kiln.irhigh.passes.ConvTransposeToConv;
import dev.kiln.irhigh.passes.FoldBatchNorm;
import dev.kiln.irhigh.passes.FoldConstants;
import dev.kiln.irhigh.passes.FoldQdqConvs;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.irhigh.passes.ControlFlow;
import dev.kiln.irhigh.passes.FoldQdqMatMuls;
import dev.kiln.irhigh.passes.MatMulsToBf16;
import dev.kiln.irhigh.passes.ConvsToBf16;
import dev.kiln.irhigh.passes.QdqPairsToFloat;
import dev.kiln.irhigh.passes.RemoveIdentity;
import dev.kiln.irhigh.passes.SplitRecurrent;
import dev.kiln.irhigh.passes.SquareByMul;
import dev.kiln.irhigh.passes.WidenHalf;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * The sequence of graph passes, in order; {@code dump} sees the graph after each one. The result
 * holds {@code kiln.Fused} nodes (one kernel each, see {@link FuseOps}), so it is for code
 * generation, not for the reference evaluator. The target decides the layout passes: a CPU's
 * channel block for {@link BlockLayout}.
 */
public final class GraphPipeline {
    private GraphPipeline() {}

    public static Graph run(Graph g, Target target, BiConsumer<String, Graph> dump) {
        return run(g, target, Precision.FP32, dump);
    }

    /** The passes with the arithmetic {@code precision} asks for (checked against the target first). */
    public static Graph run(Graph g, Target target, Precision precision, BiConsumer<String, Graph> dump) {
        precision.check(target);
        ControlFlow.run(g);
        ShapeInference.run(g);
        dump.accept("input", g);
        RemoveIdentity.run(g);
        dump.accept("RemoveIdentity", g);
        boolean int8 = target instanceof CpuTarget cpu && OpInventory.int8MatMul(cpu);
        // QDQ MatMuls and convs with int8 weights on the bytes, where the target multiplies bytes fast
        // (then kiln.Int8MatMul and kiln.Int8Conv, below); the rest in float.
        if (int8 && FoldQdqMatMuls.run(g) > 0) ShapeInference.run(g);
        dump.accept("FoldQdqMatMuls", g);
        if (int8 && FoldQdqConvs.run(g) > 0) ShapeInference.run(g);
        dump.accept("FoldQdqConvs", g);
        if (QdqPairsToFloat.run(g) > 0) ShapeInference.run(g);
        dump.accept("QdqPairsToFloat", g);
        if (DecomposeQuantizedProducts.run(g, int8) > 0) ShapeInference.run(g);
        dump.accept("DecomposeQuantizedProducts", g);
        if (SplitRecurrent.run(g, OpInventory.recurrentPanel(target)) > 0) ShapeInference.run(g);
        dump.accept("SplitRecurrent", g);
        FoldConstants.run(g);
        dump.accept("FoldConstants", g);
        if (ConvTransposeToConv.run(g) > 0) ShapeInference.run(g);
        dump.accept("ConvTransposeToConv", g);
        SquareByMul.run(g);
        dump.accept("SquareByMul", g);
        FoldBatchNorm.run(g);
        dump.accept("FoldBatchNorm", g);
        FoldConstants.run(g);
        dump.accept("FoldConstants", g);
        // --precision bf16: the products with constant weights on bf16 (the weights are constants by now).
        if (precision == Precision.BF16 && MatMulsToBf16.run(g) > 0) ShapeInference.run(g);
        dump.accept("MatMulsToBf16", g);
        // fp16/bf16 models on a CPU: fp32 kernels, each op's result rounded to 16 bits as before.
        if (target instanceof CpuTarget) WidenHalf.run(g, true);
        dump.accept("WidenHalf", g);
        ShapeInference.run(g);
        dump.accept("ShapeInference", g);
        BoundedOutputs.run(g);
        dump.accept("BoundedOutputs", g);
        if (target instanceof CpuTarget && Conv1dAs2d.run(g) > 0) ShapeInference.run(g);
        dump.accept("Conv1dAs2d", g);
        if (target instanceof CpuTarget cpu) BlockLayout.run(g, cpu.channelBlock());
        dump.accept("BlockLayout", g);
        // --precision bf16: the dense convs over whole channel blocks on bf16 too (on the blocked layout).
        if (precision == Precision.BF16 && target instanceof CpuTarget cpu && ConvsToBf16.run(g, cpu.channelBlock()) > 0) ShapeInference.run(g);
        dump.accept("ConvsToBf16", g);
        FuseOps.run(g);
        dump.accept("FuseOps", g);
        return g;
    }

    /** The passes for {@code target} as a function, without dumps (what the tuner's task extraction runs). */
    public static UnaryOperator<Graph> passes(Target target) {
        return passes(target, Precision.FP32);
    }

    /** The passes for {@code target} with {@code precision}, without dumps. */
    public static UnaryOperator<Graph> passes(Target target, Precision precision) {
        return g -> run(g, target, precision, (pass, graph) -> {});
    }
}
