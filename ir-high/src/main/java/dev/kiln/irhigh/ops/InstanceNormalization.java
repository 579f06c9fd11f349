package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * InstanceNormalization: each [n, c] plane of input [N, C, d...] normalized by its own mean and
 * (biased) variance, then {@code scale[c] * x + B[c]}.
 */
final class InstanceNormalization implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 3, 3);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.requireFloat(n, x, 0, "input");
        Ops.requireRankAtLeast(n, x, 0, "input", 3);
        for (int i = 1; i <= 2; i++) {
            Value v = Ops.required(n, inputs, i, i == 1 ? "scale" : "B");
            if (v.shape().rank() != 1 || v.shape().dim(0) != x.shape().dim(1))
                throw n.error(Ops.in(n, i, i == 1 ? "scale" : "B") + " should have shape [" + x.shape().dim(1) + "] but is " + Ops.type(v));
        }
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0), scale = inputs.get(1), bias = inputs.get(2);
        int C = x.shape().dim(1), planes = x.shape().dim(0) * C, D = x.size() / Math.max(1, planes);
        double eps = n.attrFloat("epsilon", 1e-5f);
        double[] v = TensorData.toDoubles(x), out = new double[v.length];
        for (int p = 0; p < planes; p++) {
            double mean = 0, var = 0;
            for (int d = 0; d < D; d++) mean += v[p * D + d];
            mean /= D;
            for (int d = 0; d < D; d++) var += (v[p * D + d] - mean) * (v[p * D + d] - mean);
            var /= D;
            double inv = 1 / Math.sqrt(var + eps), s = scale.getDouble(p % C), b = bias.getDouble(p % C);
            for (int d = 0; d < D; d++) out[p * D + d] = (v[p * D + d] - mean) * inv * s + b;
        }
        return List.of(TensorData.fromDoubles(x.dtype(), x.shape(), out));
    }
}
