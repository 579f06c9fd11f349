package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * LRN (local response normalization across channels):
 * {@code y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta}, the window
 * running from {@code c - floor((size-1)/2)} to {@code c + ceil((size-1)/2)}, clipped to the channels.
 */
final class Lrn implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X");
        Ops.requireFloat(n, x, 0, "X");
        Ops.requireRankAtLeast(n, x, 0, "X", 2);
        if (n.attrInt("size", 0) < 1) throw n.error("attribute 'size' must be a positive integer");
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        Shape s = x.shape();
        long size = n.attrInt("size", 0);
        double alpha = n.attrFloat("alpha", 1e-4f), beta = n.attrFloat("beta", 0.75f), bias = n.attrFloat("bias", 1f);
        int c = s.dim(1), inner = (int) Ops.product(s.dims(), 2, s.rank());
        long lo = (size - 1) / 2, hi = size - 1 - lo;
        double[] v = TensorData.toDoubles(x), y = new double[v.length];
        for (int e = 0; e < v.length; e++) {
            int ch = (e / inner) % c, base = e - ch * inner;
            double sum = 0;
            for (long k = Math.max(0, ch - lo); k <= Math.min(c - 1, ch + hi); k++) sum += v[(int) (base + k * inner)] * v[(int) (base + k * inner)];
            y[e] = v[e] / Math.pow(bias + alpha / size * sum, beta);
        }
        return List.of(TensorData.fromDoubles(x.dtype(), s, y));
    }
}
