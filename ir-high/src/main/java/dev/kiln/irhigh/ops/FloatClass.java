package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * IsNaN and IsInf: a bool per element. IsInf's {@code detect_positive} / {@code detect_negative}
 * (default 1) choose which infinities count.
 */
final class FloatClass implements OpDef {
    static final FloatClass IS_NAN = new FloatClass(true), IS_INF = new FloatClass(false);

    private final boolean nan;

    private FloatClass(boolean nan) {
        this.nan = nan;
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X");
        Ops.requireNumeric(n, x, 0, "X");
        return List.of(Ops.out(n, 0, DType.BOOL, x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor x = inputs.get(0);
        boolean pos = n.attrInt("detect_positive", 1) != 0, neg = n.attrInt("detect_negative", 1) != 0;
        int count = Math.toIntExact(x.shape().numel());
        long[] r = new long[count];
        if (x.dtype().isFloat()) {
            double[] v = TensorData.toDoubles(x);
            for (int i = 0; i < count; i++) {
                double d = v[i];
                boolean hit = nan ? Double.isNaN(d) : (d == Double.POSITIVE_INFINITY && pos) || (d == Double.NEGATIVE_INFINITY && neg);
                r[i] = hit ? 1 : 0;
            }
        }
        return List.of(Tensor.of(DType.BOOL, x.shape(), r));
    }
}
