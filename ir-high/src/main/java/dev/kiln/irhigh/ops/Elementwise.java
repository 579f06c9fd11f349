package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.util.function.DoubleBinaryOperator;
import java.util.function.LongBinaryOperator;

/** The loop shared by broadcasting binary ops: floats computed in double, integers and bools in long. */
final class Elementwise {
    private Elementwise() {}

    /**
     * out[i] = f(a[..], b[..]) over the broadcast shape {@code out}. Float inputs use {@code fd}
     * (result rounded to {@code outType}); integer and bool inputs use {@code fl}. A float base
     * with an integer exponent (Pow) takes the float path.
     */
    static Tensor binary(Tensor a, Tensor b, Shape out, DType outType, DoubleBinaryOperator fd, LongBinaryOperator fl) {
        int[] ma = TensorData.broadcastMap(a.shape(), out), mb = TensorData.broadcastMap(b.shape(), out);
        int n = Math.toIntExact(out.numel());
        if (a.dtype().isFloat() || b.dtype().isFloat()) {
            double[] x = TensorData.toDoubles(a), y = TensorData.toDoubles(b), r = new double[n];
            for (int i = 0; i < n; i++) r[i] = fd.applyAsDouble(x[TensorData.at(ma, i)], y[TensorData.at(mb, i)]);
            return TensorData.fromDoubles(outType, out, r);
        }
        long[] x = a.longs(), y = b.longs(), r = new long[n];
        for (int i = 0; i < n; i++) r[i] = fl.applyAsLong(x[TensorData.at(ma, i)], y[TensorData.at(mb, i)]);
        return Tensor.of(outType, out, r);
    }
}
