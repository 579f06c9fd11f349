package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * QuantizeLinear, {@code y = saturate(round_half_even(x / scale) + zero_point)} in the zero
 * point's type (uint8 without one), and DequantizeLinear, {@code y = (x - zero_point) * scale}
 * in the scale's type. The scale and zero point are scalars (per tensor) or 1-D along
 * {@code axis} (per channel); blocked quantization is not supported.
 */
public final class Quantize implements OpDef {
    static final Quantize QUANTIZE = new Quantize(true), DEQUANTIZE = new Quantize(false);

    private final boolean quantize;

    private Quantize(boolean quantize) {
        this.quantize = quantize;
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 3);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "x"), scale = Ops.required(n, inputs, 1, "scale");
        Value zp = Ops.optional(inputs, 2);
        Ops.requireFloat(n, scale, 1, "scale");
        if (n.attrInt("block_size", 0) != 0) throw n.error("blocked quantization (block_size) is not supported");
        scaleAxis(n, x.shape(), scale.shape());
        if (zp != null && !zp.shape().equals(scale.shape()))
            throw n.error("zero point " + Ops.type(zp) + " must have the shape of scale " + Ops.type(scale));
        if (quantize) {
            DType t = zp == null ? DType.UINT8 : zp.dtype();
            if (t != DType.UINT8 && t != DType.INT8 && t != DType.UINT16 && t != DType.INT16)
                throw n.error("quantizing to " + t.numpyName + " is not supported (uint8, int8, uint16, int16 are)");
            return List.of(Ops.out(n, 0, t, x.shape()));
        }
        Ops.requireInteger(n, x, 0, "x");
        return List.of(Ops.out(n, 0, scale.dtype(), x.shape()));
    }

    /** The axis a 1-D scale runs along, or -1 for a per-tensor scale. */
    public static int scaleAxis(Node n, Shape x, Shape scale) {
        if (scale.numel() == 1 && scale.rank() <= 1) return -1;
        if (scale.rank() != 1) throw n.error("scale must be a scalar or 1-D, got shape " + scale);
        int a = Ops.axis(n, n.attrInt("axis", 1), x.rank(), "attribute 'axis'");
        if (x.dim(a) != scale.dim(0)) throw n.error("scale " + scale + " does not match axis " + a + " of x " + x);
        return a;
    }

    /** The range of a quantized type. */
    public static long[] range(DType t) {
        return switch (t) {
            case UINT8 -> new long[] {0, 255};
            case INT8 -> new long[] {-128, 127};
            case UINT16 -> new long[] {0, 65535};
            case INT16 -> new long[] {-32768, 32767};
            default -> new long[] {Long.MIN_VALUE, Long.MAX_VALUE};
        };
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value out = Ops.inferFrom(this, n, inputs).get(0);
        Tensor x = inputs.get(0), scale = inputs.get(1), zp = inputs.size() > 2 ? inputs.get(2) : null;
        Shape xs = x.shape();
        int a = scaleAxis(n, xs, scale.shape());
        long inner = a < 0 ? 1 : Ops.product(xs.dims(), a + 1, xs.rank());
        Tensor y = Tensor.zeros(out.dtype(), xs);
        long[] r = range(out.dtype());
        for (int e = 0; e < y.size(); e++) {
            int c = a < 0 ? 0 : (int) ((e / inner) % xs.dim(a));
            double s = scale.getDouble(c);
            long z = zp == null ? 0 : zp.getLong(c);
            if (quantize) {
                // In the scale's precision, as ONNX's reference computes x / scale.
                double q = Math.rint(scale.dtype() == DType.FLOAT64 ? x.getDouble(e) / s : (float) (x.getDouble(e) / s)) + z;
                y.setLong(e, (long) Math.max(r[0], Math.min(r[1], q)));
            } else {
                y.setDouble(e, scale.dtype() == DType.FLOAT64 ? (x.getLong(e) - z) * s : (float) ((float) (x.getLong(e) - z) * (float) s));
            }
        }
        return List.of(y);
    }
}
