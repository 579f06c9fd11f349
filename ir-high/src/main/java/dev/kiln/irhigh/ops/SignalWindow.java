package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * HannWindow, HammingWindow and BlackmanWindow: {@code size} cosine-sum coefficients
 * {@code a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N)}, N = size ({@code periodic=1}) or size - 1.
 * The size must be a compile-time constant (it is the shape), so the output always folds to a constant.
 */
final class SignalWindow implements OpDef {
    static final SignalWindow HANN = new SignalWindow(0.5, 0.5, 0), HAMMING = new SignalWindow(25.0 / 46, 21.0 / 46, 0),
            BLACKMAN = new SignalWindow(0.42, 0.5, 0.08);

    private final double a0, a1, a2;

    private SignalWindow(double a0, double a1, double a2) {
        this.a0 = a0;
        this.a1 = a1;
        this.a2 = a2;
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value size = Ops.required(n, inputs, 0, "size");
        Ops.requireScalar(n, size, 0, "size");
        long s = Ops.constLongs(n, consts, 0, "size")[0];
        if (s < 0) throw n.error("size must not be negative, got " + s);
        DType t = DType.fromOnnx((int) n.attrInt("output_datatype", 1));
        if (!t.isFloat() && !t.isInteger()) throw n.error("output_datatype " + t.numpyName + " is not a numeric type");
        return List.of(Ops.out(n, 0, t, Shape.of(s)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value out = Ops.inferFrom(this, n, inputs).get(0);
        int size = out.shape().dim(0);
        double den = n.attrInt("periodic", 1) != 0 ? size : size - 1;
        double[] w = new double[size];
        for (int i = 0; i < size; i++)
            w[i] = a0 - a1 * Math.cos(2 * Math.PI * i / den) + a2 * Math.cos(4 * Math.PI * i / den);
        if (out.dtype().isFloat()) return List.of(TensorData.fromDoubles(out.dtype(), out.shape(), w));
        long[] l = new long[size];
        for (int i = 0; i < size; i++) l[i] = (long) w[i];
        return List.of(Tensor.of(out.dtype(), out.shape(), l));
    }
}
