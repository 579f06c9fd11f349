package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * MeanVarianceNormalization as its ONNX function defines it: {@code (X - E[X]) / (sqrt(E[X^2] -
 * E[X]^2) + 1e-9)}, the expectations over {@code axes} (default {@code [0, 2, 3]}).
 */
public final class MeanVarianceNormalization implements OpDef {
    /** The function's epsilon, added to the standard deviation. */
    public static final double EPSILON = 1e-9;

    /** The normalized axes of an input of rank {@code rank}. */
    public static int[] axes(Node n, int rank) {
        return Ops.axes(n, n.attrInts("axes", new long[] {0, 2, 3}), rank, "attribute 'axes'");
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X");
        Ops.requireFloat(n, x, 0, "X");
        axes(n, x.shape().rank());
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        int[] dims = x.shape().dims(), axes = axes(n, dims.length);
        boolean[] reduced = new boolean[dims.length];
        for (int a : axes) reduced[a] = true;
        double[] v = TensorData.toDoubles(x);
        // Group elements by their position on the kept axes.
        int groups = 1, count = 1;
        for (int d = 0; d < dims.length; d++) if (reduced[d]) count *= dims[d]; else groups *= dims[d];
        double[] sum = new double[groups], sq = new double[groups];
        int[] group = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            int rem = i, g = 0, mul = 1;
            for (int d = dims.length - 1; d >= 0; d--) {
                int c = rem % dims[d];
                rem /= dims[d];
                if (!reduced[d]) {
                    g += c * mul;
                    mul *= dims[d];
                }
            }
            group[i] = g;
            sum[g] += v[i];
            sq[g] += v[i] * v[i];
        }
        double[] y = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double mean = sum[group[i]] / count, var = sq[group[i]] / count - mean * mean;
            y[i] = (v[i] - mean) / (Math.sqrt(var) + EPSILON);
        }
        return List.of(TensorData.fromDoubles(x.dtype(), x.shape(), y));
    }
}
