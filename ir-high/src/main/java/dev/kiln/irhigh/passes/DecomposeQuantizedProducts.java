package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Int8Conv;
import dev.kiln.irhigh.ops.Int8MatMul;
import dev.kiln.irhigh.ops.OpRegistry;
import dev.kiln.irhigh.ops.QuantizedProduct;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Rewrites MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv into ops Kiln compiles for every
 * target, exactly:
 *
 * <ul>
 *   <li>MatMul: A and B cast to int32, their zero points subtracted (per row of A: reshaped to
 *       {@code [M, 1]}), an int32 MatMul: the same wrapping int32 sum as ONNX Runtime.
 *   <li>Conv (whose kernels take only floats): X and W cast to float64, zero points subtracted
 *       (per output channel: reshaped to {@code [M, 1, ...]}), QLinearConv's int32 bias cast to
 *       float64, a float64 Conv. Each product of two 8-bit differences is below 2^16 in magnitude,
 *       so every partial sum of up to 2^37 of them is an exact integer in double: the result is the
 *       exact integer accumulator, cast to int32 (ConvInteger).
 *   <li>QLinear*: the accumulator cast to float32 (int32 to float and double to float round the
 *       same integer the same way), times {@code a_scale * b_scale / y_scale} computed in float32 by
 *       Mul and Div nodes (folded when the scales are constants), then a QuantizeLinear with scale 1
 *       (dividing by 1 is exact) and zero point {@code y_zp}: round half to even, add, saturate. This
 *       is ONNX Runtime's order of float32 operations.
 * </ul>
 * With {@code int8Kernel} (CPU targets), the MatMul forms whose B is a rank-2 constant (an initializer
 * or a Constant node's value), with zero
 * points per tensor (A) and per tensor or per column (B, constant), keep their product whole as
 * {@link Int8MatMul} instead, which the native int8 kernel computes from the bytes (the
 * requantization of QLinearMatMul is the same as above). Likewise the 2-D Conv forms of group 1 whose
 * weight is a constant with {@code W - w_zp} within a signed byte everywhere ({@code w_zp} constant, per
 * tensor or per output channel) and whose {@code x_zp} is per tensor become {@link Int8Conv} (QLinearConv's
 * int32 bias added to its accumulator by an int32 Add, as ONNX Runtime adds it).
 * The graph must have been through shape inference; shapes are inferred again afterwards by the caller.
 */
public final class DecomposeQuantizedProducts {
    private DecomposeQuantizedProducts() {}

    /** Rewrites every such node into ops every target compiles; returns how many. */
    public static int run(Graph g) {
        return run(g, false);
    }

    /** Rewrites every such node, the MatMul forms {@link Int8MatMul} takes into that when {@code int8Kernel}; returns how many. */
    public static int run(Graph g, boolean int8Kernel) {
        return Rewrites.replaceEach(g, n -> {
            QuantizedProduct def = QuantizedProduct.of(n);
            return def == null ? null : rewrite(n, def, g, int8Kernel && (int8Product(n, def, g) || int8ConvProduct(n, def, g)));
        });
    }

    /** Whether the product of {@code n} is one {@link Int8MatMul} takes (see there). */
    static boolean int8Product(Node n, QuantizedProduct def, Graph g) {
        QuantizedProduct.Layout l = def.layout;
        if (def.conv || !compileTimeConstant(g, n.input(l.b()))) return false;
        Shape b = g.value(n.input(l.b())).shape();
        if (b.rank() != 2 || b.numel() == 0) return false;
        if (n.hasInput(l.aZp()) && g.value(n.input(l.aZp())).shape().numel() != 1) return false;
        if (!n.hasInput(l.bZp())) return true;
        Shape zb = g.value(n.input(l.bZp())).shape();
        return compileTimeConstant(g, n.input(l.bZp())) && (zb.numel() == 1 || zb.rank() == 1 && zb.dim(0) == b.dim(1));
    }

    /** Whether the product of {@code n} is one {@link Int8Conv} takes (see there). */
    static boolean int8ConvProduct(Node n, QuantizedProduct def, Graph g) {
        QuantizedProduct.Layout l = def.layout;
        if (!def.conv || n.attrInt("group", 1) != 1 || g.value(n.input(l.a())).shape().rank() != 4) return false;
        Tensor w = constantValue(g, n.input(l.b()));
        if (w == null || w.shape().rank() != 4 || w.size() == 0) return false;
        if (n.hasInput(l.aZp()) && g.value(n.input(l.aZp())).shape().numel() != 1) return false;
        Tensor zw = n.hasInput(l.bZp()) ? constantValue(g, n.input(l.bZp())) : null;
        if (n.hasInput(l.bZp()) && (zw == null || zw.size() != 1 && zw.size() != w.shape().dim(0))) return false;
        // Every W - w_zp must be a signed byte: the kernel multiplies unsigned activations by signed weights.
        int perChannel = w.size() / w.shape().dim(0);
        for (int e = 0; e < w.size(); e++) {
            long d = w.getLong(e) - (zw == null ? 0 : zw.getLong(zw.size() == 1 ? 0 : e / perChannel));
            if (d < -128 || d > 127) return false;
        }
        return true;
    }

    /** The value of an initializer or of a Constant node's {@code value}; null for anything else. */
    private static Tensor constantValue(Graph g, String v) {
        Tensor t = g.initializers().get(v);
        if (t != null) return t;
        Node p = g.producer(v);
        if (p == null || !p.op().equals("Constant") || !OpRegistry.isOnnxDomain(p.domain())) return null;
        return p.attrs().get("value") instanceof Attr.TensorAttr(Tensor value) ? value : null;
    }

    /**
     * Whether a value is known at compile time: an initializer, or the {@code value} of a Constant node
     * (which FoldConstants turns into an initializer before kernels are built).
     */
    private static boolean compileTimeConstant(Graph g, String v) {
        if (g.initializers().containsKey(v)) return true;
        Node p = g.producer(v);
        return p != null && p.op().equals("Constant") && OpRegistry.isOnnxDomain(p.domain()) && p.attrs().containsKey("value");
    }

    private static List<Node> rewrite(Node n, QuantizedProduct def, Graph g, boolean int8) {
        QuantizedProduct.Layout l = def.layout;
        List<Node> r = new ArrayList<>();
        if (int8) {
            boolean bias = def.conv && l.bias() >= 0 && n.hasInput(l.bias());
            String product = l.qlinear() ? Rewrites.fresh(g, n.output(0) + "_acc") : n.output(0);
            String acc = bias ? Rewrites.fresh(g, n.output(0) + "_acc_nobias") : product;
            List<String> in = List.of(n.input(l.a()), n.input(l.b()), n.hasInput(l.aZp()) ? n.input(l.aZp()) : "",
                    n.hasInput(l.bZp()) ? n.input(l.bZp()) : "");
            if (def.conv) r.add(new Node(n.name() + "/product", Int8Conv.OP, Int8Conv.DOMAIN, in, List.of(acc), n.attrs(), n.opset()));
            else r.add(new Node(n.name() + "/product", Int8MatMul.OP, Int8MatMul.DOMAIN, in, List.of(acc), Map.of(), n.opset()));
            if (bias) {
                // QLinearConv's int32 bias, per output channel: added to the accumulator in int32.
                String b = Rewrites.fresh(g, n.input(l.bias()) + "_per_channel");
                r.add(Rewrites.reshape(g, Rewrites.fresh(g, n.name() + "/bias_reshape"), n.input(l.bias()), new long[] {-1, 1, 1}, b));
                r.add(new Node(n.name() + "/bias", "Add", "", List.of(acc, b), List.of(product), Map.of(), Rewrites.OPSET));
            }
            if (l.qlinear()) requantize(n, def, g, r, product);
            return r;
        }
        DType acc = def.conv ? DType.FLOAT64 : DType.INT32;
        String a = shifted(n, def, 0, l.a(), l.aZp(), acc, g, r), b = shifted(n, def, 1, l.b(), l.bZp(), acc, g, r);
        String bias = null;
        if (l.bias() >= 0 && n.hasInput(l.bias())) bias = cast(n, g, r, n.input(l.bias()), DType.FLOAT64, "bias");
        // MatMulInteger's int32 product is its output; the others' is converted first.
        String product = l.qlinear() || def.conv ? Rewrites.fresh(g, n.output(0) + "_acc") : n.output(0);
        r.add(def.product(n, n.name() + "/product", a, b, bias, product));
        if (!l.qlinear()) {
            if (def.conv) r.add(castNode(n.name() + "/to_int32", product, DType.INT32, n.output(0)));
            return r;
        }
        requantize(n, def, g, r, product);
        return r;
    }

    /** QLinear*'s output from the accumulator {@code product} (int32 or float64), as ONNX Runtime computes it. */
    private static void requantize(Node n, QuantizedProduct def, Graph g, List<Node> r, String product) {
        QuantizedProduct.Layout l = def.layout;
        String accF = cast(n, g, r, product, DType.FLOAT32, "acc_float");
        String as = scale(n, def, 0, l.a(), l.aScale(), g, r), bs = scale(n, def, 1, l.b(), l.bScale(), g, r);
        String ab = binary(n, g, r, "Mul", as, bs, "scale_ab"), m = binary(n, g, r, "Div", ab, n.input(l.yScale()), "multiplier");
        String scaled = binary(n, g, r, "Mul", accF, m, "scaled");
        Shape zs = g.value(n.input(l.yZp())).shape();
        float[] one = new float[(int) zs.numel()];
        Arrays.fill(one, 1f);
        String unit = Rewrites.constant(g, n.name() + "_unit_scale", Tensor.ofFloats(zs, one));
        r.add(new Node(n.name() + "/requantize", "QuantizeLinear", "", List.of(scaled, unit, n.input(l.yZp())), List.of(n.output(0)),
                Map.of(), Rewrites.OPSET));
    }

    /** Operand {@code operand} cast to {@code t}, its zero point (if any) cast and subtracted. */
    private static String shifted(Node n, QuantizedProduct def, int operand, int in, int zp, DType t, Graph g, List<Node> r) {
        String role = operand == 0 ? "a" : "b";
        String x = cast(n, g, r, n.input(in), t, role);
        if (!n.hasInput(zp)) return x;
        String z = cast(n, g, r, broadcastable(n, def, operand, in, zp, g, r), t, role + "_zero_point");
        return binary(n, g, r, "Sub", x, z, role + "_shifted");
    }

    /**
     * Operand {@code operand}'s scale, shaped to broadcast against the product: as its zero point, except
     * per output channel of Conv, where the product's channels are axis 1, not the weights' axis 0.
     */
    private static String scale(Node n, QuantizedProduct def, int operand, int in, int scale, Graph g, List<Node> r) {
        Shape ps = g.value(n.input(scale)).shape();
        if (!def.conv || ps.numel() == 1) return broadcastable(n, def, operand, in, scale, g, r);
        def.broadcastShape(n, operand, g.value(n.input(in)).shape(), ps, n.input(scale));
        long[] shape = new long[g.value(n.input(in)).shape().rank() - 1];
        Arrays.fill(shape, 1);
        shape[0] = ps.dim(0);
        String out = Rewrites.fresh(g, n.input(scale) + "_per_channel");
        r.add(Rewrites.reshape(g, Rewrites.fresh(g, n.name() + "/" + n.input(scale) + "_reshape"), n.input(scale), shape, out));
        return out;
    }

    /** Input {@code param} reshaped as {@link QuantizedProduct#broadcastShape} says (unchanged when it already is). */
    private static String broadcastable(Node n, QuantizedProduct def, int operand, int in, int param, Graph g, List<Node> r) {
        Shape ps = g.value(n.input(param)).shape();
        long[] shape = def.broadcastShape(n, operand, g.value(n.input(in)).shape(), ps, n.input(param));
        if (Arrays.equals(shape, ps.longDims())) return n.input(param);
        String out = Rewrites.fresh(g, n.input(param) + "_broadcast");
        r.add(Rewrites.reshape(g, Rewrites.fresh(g, n.name() + "/" + n.input(param) + "_reshape"), n.input(param), shape, out));
        return out;
    }

    private static String cast(Node n, Graph g, List<Node> r, String in, DType to, String role) {
        String out = Rewrites.fresh(g, n.output(0) + "_" + role + "_" + to.numpyName);
        r.add(castNode(n.name() + "/" + role + "_" + to.numpyName, in, to, out));
        return out;
    }

    private static Node castNode(String name, String in, DType to, String out) {
        return new Node(name, "Cast", "", List.of(in), List.of(out), Map.of("to", new Attr.Int(to.onnxCode)), Rewrites.OPSET);
    }

    private static String binary(Node n, Graph g, List<Node> r, String op, String x, String y, String role) {
        String out = Rewrites.fresh(g, n.output(0) + "_" + role);
        r.add(new Node(n.name() + "/" + role, op, "", List.of(x, y), List.of(out), Map.of(), Rewrites.OPSET));
        return out;
    }
}
