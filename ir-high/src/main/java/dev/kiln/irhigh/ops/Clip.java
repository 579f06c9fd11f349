package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Clip(x) = min(max(x, min), max). Before opset 11 the bounds are float attributes; from opset 11
 * they are optional scalar inputs (so they may be integers for integer tensors).
 */
final class Clip implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.requireNumeric(n, x, 0, "input");
        if (n.opset() < 11) {
            Ops.requireInputs(n, 1, 1);
            Ops.requireFloat(n, x, 0, "input");
        } else {
            Ops.requireInputs(n, 1, 3);
            String[] roles = {"input", "min", "max"};
            for (int i = 1; i <= 2; i++) {
                Value b = Ops.optional(inputs, i);
                if (b == null) continue;
                Ops.requireSameDtype(n, x, 0, "input", b, i, roles[i]);
                Ops.requireScalar(n, b, i, roles[i]);
            }
        }
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        Tensor lo = Ops.constant(inputs, 1), hi = Ops.constant(inputs, 2);
        if (x.dtype().isFloat()) {
            double min, max;
            if (n.opset() < 11) {
                min = n.attrFloat("min", -Float.MAX_VALUE);
                max = n.attrFloat("max", Float.MAX_VALUE);
            } else {
                min = lo == null ? Double.NEGATIVE_INFINITY : lo.getDouble(0);
                max = hi == null ? Double.POSITIVE_INFINITY : hi.getDouble(0);
            }
            double[] v = TensorData.toDoubles(x);
            for (int i = 0; i < v.length; i++) if (v[i] == v[i]) v[i] = Math.min(Math.max(v[i], min), max);
            return List.of(TensorData.fromDoubles(x.dtype(), x.shape(), v));
        }
        long min = lo == null ? Long.MIN_VALUE : lo.getLong(0);
        long max = hi == null ? Long.MAX_VALUE : hi.getLong(0);
        long[] a = x.longs(), r = new long[a.length];
        boolean unsigned = x.dtype() == dev.kiln.irhigh.DType.UINT64;
        for (int i = 0; i < a.length; i++) {
            long v = a[i];
            if (lo != null && (unsigned ? Long.compareUnsigned(v, min) < 0 : v < min)) v = min;
            if (hi != null && (unsigned ? Long.compareUnsigned(v, max) > 0 : v > max)) v = max;
            r[i] = v;
        }
        return List.of(Tensor.of(x.dtype(), x.shape(), r));
    }
}
