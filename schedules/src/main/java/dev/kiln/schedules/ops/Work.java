package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irhigh.passes.FuseOps;
import java.util.Set;

/**
 * The arithmetic of one run of a graph node's kernel, counted the way profilers and tuners report
 * throughput: 2 per multiply-add of a product (Conv, ConvTranspose, MatMul, Gemm), one per window
 * element of a pool, one per input element of a reduction, one per output element of anything
 * else. A fused group counts each op of its body.
 */
public final class Work {
    private Work() {}

    private static final Set<String> WINDOWED = Set.of("MaxPool", "AveragePool", "LpPool");
    private static final Set<String> REDUCING = Set.of("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceSum",
            "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
            "ReduceSumSquare", "ArgMax", "ArgMin", "Softmax", "LogSoftmax", "LayerNormalization", "TopK");

    /** Floating-point (or integer) operations of one run of {@code node}'s kernel in {@code g}. */
    public static double flops(Node node, Graph g) {
        if (FuseOps.isFused(node)) {
            Graph body = FuseOps.body(node);
            double sum = 0;
            for (Node n : body.nodes()) sum += flops(n, body, g);
            return sum;
        }
        return flops(node, g, g);
    }

    /** One node's count, its values looked up in {@code scope} (a fused body), then {@code g}. */
    private static double flops(Node n, Graph scope, Graph g) {
        if (n.outputs().isEmpty() || n.output(0).isEmpty()) return 0;
        boolean bf16Conv = dev.kiln.irhigh.ops.Bf16Conv.is(n);
        String op = bf16Conv ? "Conv" : Blocked.inner(n) != null ? Blocked.inner(n) : n.op();
        double outputs = value(n.output(0), scope, g).shape().numel();
        if ((op.equals("Conv") || dev.kiln.irhigh.ops.Int8Conv.is(n)) && n.inputs().size() >= 2) {
            // Every output pixel (batch x spatial positions) multiplies with every weight once.
            long[] out = value(n.output(0), scope, g).shape().longDims();
            boolean blocked = Blocked.inner(n) != null || bf16Conv;
            double pixels = out.length >= 1 ? out[0] : 1;
            for (int i = 2; i < out.length - (blocked ? 1 : 0); i++) pixels *= out[i];
            return 2 * pixels * value(n.input(1), scope, g).shape().numel();
        }
        if (op.equals("ConvTranspose") && n.inputs().size() >= 2) {
            // Every input pixel scatters into every weight once.
            long[] in = value(n.input(0), scope, g).shape().longDims();
            double pixels = in.length >= 1 ? in[0] : 1;
            for (int i = 2; i < in.length; i++) pixels *= in[i];
            return 2 * pixels * value(n.input(1), scope, g).shape().numel();
        }
        if (op.equals("MatMul") || op.equals("Gemm") || dev.kiln.irhigh.ops.Int8MatMul.is(n)
                || dev.kiln.irhigh.ops.Bf16MatMul.is(n)) {
            long[] a = value(n.input(0), scope, g).shape().longDims();
            if (a.length == 0) return 0;
            long k = op.equals("Gemm") && n.attrInt("transA", 0) != 0 ? a[0] : a[a.length - 1];
            return 2 * outputs * k;
        }
        if (WINDOWED.contains(op)) {
            double window = 1;
            for (long k : n.attrInts("kernel_shape", new long[0])) window *= k;
            return outputs * window;
        }
        if (REDUCING.contains(op) && !n.inputs().isEmpty() && !n.input(0).isEmpty())
            return value(n.input(0), scope, g).shape().numel();
        return outputs;
    }

    private static Value value(String name, Graph scope, Graph g) {
        return scope.values().containsKey(name) || scope.initializers().containsKey(name) ? scope.value(name) : g.value(name);
    }
}
