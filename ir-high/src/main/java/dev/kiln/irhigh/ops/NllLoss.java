package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (inference form). Input [N, C, d...],
 * integer target [N, d...], optional weight [C]. Each element loses {@code -input[n, t, d] * w[t]}
 * (0 where t is {@code ignore_index}); {@code reduction} "none" keeps them, "sum" adds them, and
 * "mean" divides the sum by the total weight. SoftmaxCrossEntropyLoss takes the log-softmax over
 * C first and may also output it.
 */
public final class NllLoss implements OpDef {
    private final boolean softmax;

    private NllLoss(boolean softmax) {
        this.softmax = softmax;
    }

    static final NllLoss NLL = new NllLoss(false), SOFTMAX_CROSS_ENTROPY = new NllLoss(true);

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 3);
        Ops.requireOutputs(n, 1, softmax ? 2 : 1);
        Value x = Ops.required(n, inputs, 0, "input"), t = Ops.required(n, inputs, 1, "target");
        Ops.requireFloat(n, x, 0, "input");
        Ops.requireInteger(n, t, 1, "target");
        Ops.requireRankAtLeast(n, x, 0, "input", 2);
        if (t.shape().rank() != x.shape().rank() - 1)
            throw n.error("target " + Ops.type(t) + " should have one axis fewer than input " + Ops.type(x));
        String reduction = n.attrString("reduction", "mean");
        if (!List.of("none", "sum", "mean").contains(reduction))
            throw n.error("attribute 'reduction' is '" + reduction + "'; it should be none, sum or mean");
        Shape out = reduction.equals("none") ? t.shape() : Shape.SCALAR;
        Value loss = Ops.out(n, 0, x.dtype(), out);
        if (n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()) return List.of(loss, Ops.out(n, 1, x.dtype(), x.shape()));
        return List.of(loss);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> outs = Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0), target = inputs.get(1), weight = inputs.size() > 2 ? inputs.get(2) : null;
        int N = x.shape().dim(0), C = x.shape().dim(1), D = x.size() / Math.max(1, N * C);
        double[] v = TensorData.toDoubles(x);
        if (softmax) {
            for (int i = 0; i < N; i++)
                for (int d = 0; d < D; d++) {
                    double m = Double.NEGATIVE_INFINITY, s = 0;
                    for (int c = 0; c < C; c++) m = Math.max(m, v[(i * C + c) * D + d]);
                    for (int c = 0; c < C; c++) s += Math.exp(v[(i * C + c) * D + d] - m);
                    double ls = Math.log(s);
                    for (int c = 0; c < C; c++) v[(i * C + c) * D + d] -= m + ls;
                }
        }
        Long ignore = n.has("ignore_index") ? n.attrInt("ignore_index", 0) : null;
        double[] loss = new double[N * D];
        double sum = 0, wsum = 0;
        for (int i = 0; i < N * D; i++) {
            long t = target.getLong(i);
            if (ignore != null && t == ignore) continue;
            if (t < 0 || t >= C) throw n.error("target " + t + " is out of range for " + C + " classes");
            double w = weight == null ? 1 : weight.getDouble((int) t);
            loss[i] = -v[((i / D) * C + (int) t) * D + i % D] * w;
            sum += loss[i];
            wsum += w;
        }
        String reduction = n.attrString("reduction", "mean");
        Tensor out = switch (reduction) {
            case "none" -> TensorData.fromDoubles(x.dtype(), outs.get(0).shape(), loss);
            case "sum" -> TensorData.fromDoubles(x.dtype(), Shape.SCALAR, new double[] {sum});
            default -> TensorData.fromDoubles(x.dtype(), Shape.SCALAR, new double[] {sum / wsum});
        };
        if (outs.size() > 1) return List.of(out, TensorData.fromDoubles(x.dtype(), x.shape(), v));
        return List.of(out);
    }
}
