package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Gemm: Y = alpha * A' B' + beta * C, with A' = transA ? A^T : A (M x K), B' = transB ? B^T : B
 * (K x N) and C (optional from opset 11) broadcast to M x N. Computed in double, rounded once.
 */
final class Gemm implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, n.opset() < 11 ? 3 : 2, 3);
        Ops.requireOutputs(n, 1, 1);
        Value a = Ops.required(n, inputs, 0, "A"), b = Ops.required(n, inputs, 1, "B"), c = Ops.optional(inputs, 2);
        Ops.requireNumeric(n, a, 0, "A");
        Ops.requireRank(n, a, 0, "A", 2);
        Ops.requireRank(n, b, 1, "B", 2);
        Ops.requireSameDtype(n, a, 0, "A", b, 1, "B");
        boolean ta = n.attrInt("transA", 0) != 0, tb = n.attrInt("transB", 0) != 0;
        int m = a.shape().dim(ta ? 1 : 0), k = a.shape().dim(ta ? 0 : 1);
        int kb = b.shape().dim(tb ? 1 : 0), nn = b.shape().dim(tb ? 0 : 1);
        if (k != kb)
            throw n.error("A " + a.shape() + (ta ? " (transposed)" : "") + " is " + m + "x" + k + " but B " + b.shape()
                    + (tb ? " (transposed)" : "") + " is " + kb + "x" + nn + ": the inner dimensions must match");
        Shape out = Shape.of(m, nn);
        if (c != null) {
            Ops.requireSameDtype(n, a, 0, "A", c, 2, "C");
            if (!Broadcast.unidirectional(c.shape(), out))
                throw n.error(Ops.in(n, 2, "C") + " has shape " + c.shape() + ", which does not broadcast to the output " + out);
        }
        return List.of(Ops.out(n, 0, a.dtype(), out));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value out = Ops.inferFrom(this, n, inputs).get(0);
        Tensor at = inputs.get(0), bt = inputs.get(1), ct = Ops.constant(inputs, 2);
        boolean ta = n.attrInt("transA", 0) != 0, tb = n.attrInt("transB", 0) != 0;
        int m = out.shape().dim(0), nn = out.shape().dim(1), k = at.shape().dim(ta ? 0 : 1);
        double[] a = TensorData.toDoubles(at), b = TensorData.toDoubles(bt);
        if (ta) a = MatMulKernel.transpose(a, k, m);
        if (tb) b = MatMulKernel.transpose(b, nn, k);
        double[] y = new double[m * nn];
        MatMulKernel.matmul(a, 0, b, 0, y, 0, m, k, nn);
        double alpha = n.attrFloat("alpha", 1f), beta = n.attrFloat("beta", 1f);
        double[] c = ct == null ? null : TensorData.toDoubles(ct);
        int[] cm = ct == null ? null : TensorData.broadcastMap(ct.shape(), out.shape());
        for (int i = 0; i < y.length; i++) {
            y[i] *= alpha;
            if (c != null) y[i] += beta * c[TensorData.at(cm, i)];
        }
        return List.of(TensorData.fromDoubles(out.dtype(), out.shape(), y));
    }
}
