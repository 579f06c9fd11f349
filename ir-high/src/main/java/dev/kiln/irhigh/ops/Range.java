package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Range(start, limit, delta): max(ceil((limit - start) / delta), 0) elements start + i * delta.
 * The length depends on the values, so all three must be compile-time constants. Integers are
 * exact; float32 computes the length in float, as ONNX Runtime does.
 */
final class Range implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 3, 3);
        Ops.requireOutputs(n, 1, 1);
        String[] roles = {"start", "limit", "delta"};
        Value start = Ops.required(n, inputs, 0, "start");
        Ops.requireNumeric(n, start, 0, "start");
        for (int i = 0; i < 3; i++) {
            Value v = Ops.required(n, inputs, i, roles[i]);
            Ops.requireSameDtype(n, start, 0, "start", v, i, roles[i]);
            Ops.requireScalar(n, v, i, roles[i]);
            if (Ops.constant(consts, i) == null)
                throw n.error(Ops.in(n, i, roles[i]) + " must be a compile-time constant: Range's length depends on it");
        }
        return List.of(Ops.out(n, 0, start.dtype(), new Shape(length(n, consts.get(0), consts.get(1), consts.get(2)))));
    }

    private static int length(Node n, Tensor start, Tensor limit, Tensor delta) {
        long len;
        if (start.dtype().isFloat()) {
            double s = start.getDouble(0), l = limit.getDouble(0), d = delta.getDouble(0);
            if (d == 0) throw n.error("delta is 0");
            double q = start.dtype() == DType.FLOAT64 ? (l - s) / d : (float) ((float) (l - s) / (float) d);
            len = (long) Math.max(Math.ceil(q), 0);
        } else {
            long s = start.getLong(0), l = limit.getLong(0), d = delta.getLong(0);
            if (d == 0) throw n.error("delta is 0");
            len = Math.max(Math.ceilDiv(l - s, d), 0);
        }
        if (len > Integer.MAX_VALUE) throw n.error("Range would have " + len + " elements");
        return (int) len;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value out = Ops.inferFrom(this, n, inputs).get(0);
        Tensor start = inputs.get(0), delta = inputs.get(2);
        int len = out.shape().dim(0);
        if (out.dtype().isFloat()) {
            double s = start.getDouble(0), d = delta.getDouble(0);
            double[] v = new double[len];
            for (int i = 0; i < len; i++) v[i] = s + i * d;
            return List.of(TensorData.fromDoubles(out.dtype(), out.shape(), v));
        }
        long s = start.getLong(0), d = delta.getLong(0);
        long[] v = new long[len];
        for (int i = 0; i < len; i++) v[i] = s + i * d;
        return List.of(Tensor.of(out.dtype(), out.shape(), v));
    }
}
