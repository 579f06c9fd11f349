package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * The integer products of 8-bit tensors: MatMulInteger and ConvInteger, {@code (A - a_zp) x (B - b_zp)}
 * in int32, and QLinearMatMul and QLinearConv, that product (plus QLinearConv's int32 bias) requantized
 * like ORT: {@code saturate(round_half_even(float(acc) * (a_scale * b_scale / y_scale)) + y_zp)}, all in
 * float32. A's zero point and scale are per tensor or (MatMul) per row of A; B's per tensor or per column
 * of B (MatMul) or per output channel (Conv); Y's per tensor. The graph pass
 * {@code DecomposeQuantizedProducts} replaces these ops by ones Kiln compiles; this is the reference.
 */
public final class QuantizedProduct implements OpDef {
    /** Where each operand sits among the node's inputs; -1 for none. */
    public record Layout(int a, int aZp, int b, int bZp, int aScale, int bScale, int yScale, int yZp, int bias) {
        public boolean qlinear() {
            return yScale >= 0;
        }
    }

    static final QuantizedProduct MATMUL_INTEGER = new QuantizedProduct(false, new Layout(0, 2, 1, 3, -1, -1, -1, -1, -1));
    static final QuantizedProduct CONV_INTEGER = new QuantizedProduct(true, new Layout(0, 2, 1, 3, -1, -1, -1, -1, -1));
    static final QuantizedProduct QLINEAR_MATMUL = new QuantizedProduct(false, new Layout(0, 2, 3, 5, 1, 4, 6, 7, -1));
    static final QuantizedProduct QLINEAR_CONV = new QuantizedProduct(true, new Layout(0, 2, 3, 5, 1, 4, 6, 7, 8));

    public final boolean conv;
    public final Layout layout;

    private QuantizedProduct(boolean conv, Layout layout) {
        this.conv = conv;
        this.layout = layout;
    }

    /** The definition of a MatMulInteger, ConvInteger, QLinearMatMul or QLinearConv node, else null. */
    public static QuantizedProduct of(Node n) {
        if (!OpRegistry.isOnnxDomain(n.domain())) return null;
        return switch (n.op()) {
            case "MatMulInteger" -> MATMUL_INTEGER;
            case "ConvInteger" -> CONV_INTEGER;
            case "QLinearMatMul" -> QLINEAR_MATMUL;
            case "QLinearConv" -> QLINEAR_CONV;
            default -> null;
        };
    }

    /** The float MatMul or Conv node (same attributes) that gives the product's shape. */
    public Node product(Node n, String name, String a, String b, String bias, String out) {
        List<String> in = new ArrayList<>(List.of(a, b));
        if (bias != null) in.add(bias);
        return new Node(name, conv ? "Conv" : "MatMul", "", in, List.of(out), n.attrs(), n.opset());
    }

    /**
     * The shape a zero point or scale of {@code operand} (0: A, 1: B) broadcasts in against that operand
     * of shape {@code s}: unchanged per tensor, {@code [M, 1]} per row of A, {@code [N]} per column of B,
     * {@code [M, 1, ...]} per output channel of Conv weights. Throws for any other shape.
     */
    public long[] broadcastShape(Node n, int operand, Shape s, Shape param, String role) {
        if (param.numel() == 1 && param.rank() <= 1) return param.longDims();
        if (param.rank() == 1 && conv && operand == 1 && param.dim(0) == s.dim(0)) {
            long[] r = new long[s.rank()];
            java.util.Arrays.fill(r, 1);
            r[0] = s.dim(0);
            return r;
        }
        if (param.rank() == 1 && !conv && s.rank() >= 2 && operand == 0 && param.dim(0) == s.dim(s.rank() - 2))
            return new long[] {param.dim(0), 1};
        if (param.rank() == 1 && !conv && s.rank() >= 2 && operand == 1 && param.dim(0) == s.dim(s.rank() - 1))
            return param.longDims();
        String per = conv ? (operand == 0 ? "per tensor" : "per tensor or per output channel")
                : (operand == 0 ? "per tensor or per row of A" : "per tensor or per column of B");
        throw n.error(role + " has shape " + param + " but " + n.op() + " takes it " + per + " (operand shape " + s + ")");
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Layout l = layout;
        Ops.requireInputs(n, l.qlinear() ? 8 : 2, l.qlinear() ? (conv ? 9 : 8) : 4);
        Ops.requireOutputs(n, 1, 1);
        Value a = Ops.required(n, inputs, l.a(), "A"), b = Ops.required(n, inputs, l.b(), "B");
        for (int[] op : new int[][] {{0, l.a(), l.aZp(), l.aScale()}, {1, l.b(), l.bZp(), l.bScale()}}) {
            Value v = inputs.get(op[1]);
            if (v.dtype() != DType.UINT8 && v.dtype() != DType.INT8)
                throw n.error(Ops.in(n, op[1], "input") + " has dtype " + v.dtype().numpyName + " but " + n.op() + " needs uint8 or int8");
            Value zp = l.qlinear() ? Ops.required(n, inputs, op[2], "zero point") : Ops.optional(inputs, op[2]);
            if (zp != null) {
                Ops.requireSameDtype(n, v, op[1], "input", zp, op[2], "zero point");
                broadcastShape(n, op[0], v.shape(), zp.shape(), Ops.in(n, op[2], "zero point"));
            }
            if (op[3] >= 0) {
                Value s = Ops.required(n, inputs, op[3], "scale");
                if (s.dtype() != DType.FLOAT32) throw n.error(Ops.in(n, op[3], "scale") + " must be float32, got " + s.dtype().numpyName);
                broadcastShape(n, op[0], v.shape(), s.shape(), Ops.in(n, op[3], "scale"));
            }
        }
        Value bias = l.bias() >= 0 ? Ops.optional(inputs, l.bias()) : null;
        Value f = new Value("", DType.FLOAT32, a.shape()), g = new Value("", DType.FLOAT32, b.shape());
        List<Value> pin = new ArrayList<>(List.of(f, g));
        if (bias != null) {
            if (bias.dtype() != DType.INT32) throw n.error(Ops.in(n, l.bias(), "B") + " must be int32, got " + bias.dtype().numpyName);
            pin.add(new Value("", DType.FLOAT32, bias.shape()));
        }
        Node p = product(n, n.name(), "a", "b", bias == null ? null : "bias", n.output(0));
        Shape out = OpRegistry.get(p).infer(p, pin, java.util.Collections.nCopies(pin.size(), null)).get(0).shape();
        if (!l.qlinear()) return List.of(Ops.out(n, 0, DType.INT32, out));
        Value ys = Ops.required(n, inputs, l.yScale(), "y_scale"), yz = Ops.required(n, inputs, l.yZp(), "y_zero_point");
        Ops.requireScalar(n, ys, l.yScale(), "y_scale");
        Ops.requireScalar(n, yz, l.yZp(), "y_zero_point");
        if (ys.dtype() != DType.FLOAT32) throw n.error("y_scale must be float32, got " + ys.dtype().numpyName);
        if (yz.dtype() != DType.UINT8 && yz.dtype() != DType.INT8) throw n.error("y_zero_point must be uint8 or int8, got " + yz.dtype().numpyName);
        return List.of(Ops.out(n, 0, yz.dtype(), out));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value outType = Ops.inferFrom(this, n, inputs).get(0);
        Layout l = layout;
        Tensor a = shifted(n, 0, inputs.get(l.a()), Ops.constant(inputs, l.aZp()));
        Tensor b = shifted(n, 1, inputs.get(l.b()), Ops.constant(inputs, l.bZp()));
        Tensor bias = l.bias() >= 0 ? Ops.constant(inputs, l.bias()) : null;
        List<Tensor> pin = new ArrayList<>(List.of(a, b));
        if (bias != null) pin.add(bias.cast(DType.FLOAT64));
        // Integers below 2^53 in magnitude: the double sums of Conv's and MatMul's references are exact.
        Node p = product(n, n.name(), "a", "b", bias == null ? null : "bias", n.output(0));
        Tensor acc = OpRegistry.get(p).eval(p, pin).get(0);
        Shape ys = outType.shape();
        Tensor y = Tensor.zeros(outType.dtype(), ys);
        if (!l.qlinear()) {
            for (int e = 0; e < y.size(); e++) y.setLong(e, (int) (long) acc.getDouble(e));
            return List.of(y);
        }
        Tensor as = inputs.get(l.aScale()), bs = inputs.get(l.bScale());
        float yScale = (float) inputs.get(l.yScale()).getDouble(0);
        long yZp = inputs.get(l.yZp()).getLong(0);
        long[] range = Quantize.range(outType.dtype());
        int r = ys.rank();
        for (int e = 0; e < y.size(); e++) {
            int ai, bi;
            if (conv) {
                ai = 0;
                bi = bs.size() == 1 ? 0 : (int) ((e / Ops.product(ys.dims(), 2, r)) % ys.dim(1));
            } else {
                ai = as.size() == 1 ? 0 : (int) ((e / ys.dim(r - 1)) % ys.dim(r - 2));
                bi = bs.size() == 1 ? 0 : e % ys.dim(r - 1);
            }
            float m = (float) as.getDouble(ai) * (float) bs.getDouble(bi) / yScale;
            float q = (float) (int) (long) acc.getDouble(e) * m;
            double v = Math.rint(q) + yZp;
            y.setLong(e, (long) Math.max(range[0], Math.min(range[1], v)));
        }
        return List.of(y);
    }

    /** {@code x - zp} as float64 (exact integers), {@code zp} broadcast as {@link #broadcastShape} says. */
    private Tensor shifted(Node n, int operand, Tensor x, Tensor zp) {
        Shape s = x.shape();
        Tensor r = Tensor.zeros(DType.FLOAT64, s);
        int inner = 1, count = 1;
        if (zp != null && zp.size() > 1) {
            if (conv) {
                inner = (int) Ops.product(s.dims(), 1, s.rank());
                count = s.dim(0);
            } else if (operand == 0) {
                inner = s.dim(s.rank() - 1);
                count = s.dim(s.rank() - 2);
            } else {
                count = s.dim(s.rank() - 1);
            }
        }
        for (int e = 0; e < r.size(); e++) {
            long z = zp == null ? 0 : zp.getLong((e / inner) % count);
            r.setDouble(e, x.getLong(e) - z);
        }
        return r;
    }
}
