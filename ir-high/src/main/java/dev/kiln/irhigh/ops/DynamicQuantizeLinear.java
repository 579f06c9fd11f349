package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * DynamicQuantizeLinear: uint8 quantization with the scale and zero point chosen from the
 * tensor's range (widened to include 0), in float32 as ONNX's reference computes them:
 * {@code scale = (max - min) / 255}, {@code zero_point = round_half_even(clamp(-min / scale, 0, 255))}.
 */
final class DynamicQuantizeLinear implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 3, 3);
        Value x = Ops.required(n, inputs, 0, "x");
        if (x.dtype() != DType.FLOAT32) throw n.error(Ops.in(n, 0, "x") + " must be float32, got " + Ops.type(x));
        return List.of(Ops.out(n, 0, DType.UINT8, x.shape()), Ops.out(n, 1, DType.FLOAT32, Shape.SCALAR),
                Ops.out(n, 2, DType.UINT8, Shape.SCALAR));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        float[] v = x.floats();
        float lo = 0, hi = 0;
        for (float f : v) {
            lo = Math.min(lo, f);
            hi = Math.max(hi, f);
        }
        // A tensor of zeros has no range: ONNX Runtime quantizes it with scale 1 (the formula would divide by 0).
        float scale = hi == lo ? 1f : (hi - lo) / 255f;
        float zp = (float) Math.rint(Math.max(0f, Math.min(255f, 0f - lo / scale)));
        long[] y = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            double q = Math.rint(v[i] / scale) + zp;
            y[i] = (long) Math.max(0, Math.min(255, q));
        }
        return List.of(Tensor.of(DType.UINT8, x.shape(), y), Tensor.ofFloats(Shape.SCALAR, scale),
                Tensor.of(DType.UINT8, Shape.SCALAR, new long[] {(long) zp}));
    }
}
