package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.QuantizedProduct;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Conv of a QDQ model whose weight is a constant behind a DequantizeLinear and whose input comes
 * through one, {@code Conv(DQ(x_q, sx, zx), DQ(w_q, sw, zw), bias?)}, computed on the quantized
 * values: {@code ConvInteger(x_q, w_q, zx, zw)} (exact int32), cast to float, times {@code sx * sw}
 * (per tensor or per output channel, a compile-time constant shaped {@code [M, 1, 1]}), plus the
 * bias. Real arithmetic gives the float conv of the dequantized values; float arithmetic rounds once
 * after an exact sum instead of at every step. Only 2-D convs of group 1 that the native int8 conv
 * takes ({@code DecomposeQuantizedProducts} then makes them {@code kiln.Int8Conv}); only worth it
 * where the target multiplies bytes fast (the caller decides). The activation's QuantizeLinear stays
 * and writes the bytes the conv reads; the DequantizeLinear nodes nothing reads any more are dropped,
 * with the constants only they read.
 */
public final class FoldQdqConvs {
    private FoldQdqConvs() {}

    /**
     * Rewrites every such Conv, or none where another 2-D Conv of the graph would stay float (a
     * depthwise conv, a float weight); returns how many. The int8 conv keeps NCHW while float convs run
     * in blocked layouts: mixing them put a layout change on each side of every int8 conv, and
     * mobilenetv2's QDQ model (int8 pointwise convs around float depthwise ones) ran 2.3x slower than
     * its float model; resnet18's, all of whose convs are taken, runs twice as fast. The graph must
     * have been through shape inference.
     */
    public static int run(Graph g) {
        Set<String> replaced = new HashSet<>();
        for (Node n : g.nodes()) {
            if (Rewrites.isOnnx(n, "Conv") && g.value(n.input(0)).shape().rank() == 4 && !takes(g, n)) return 0;
        }
        int count = Rewrites.replaceEach(g, n -> rewrite(g, n, replaced));
        if (count > 0) Rewrites.dropDeadDequantizations(g, replaced);
        return count;
    }

    /** Whether {@code n} is a QDQ conv this pass rewrites (see above). */
    private static boolean takes(Graph g, Node n) {
        if (!Rewrites.isOnnx(n, "Conv") || n.inputs().size() < 2 || n.attrInt("group", 1) != 1) return false;
        Node dx = g.producer(n.input(0)), dw = g.producer(n.input(1));
        if (dx == null || dw == null || !Rewrites.isOnnx(dx, "DequantizeLinear") || !Rewrites.isOnnx(dw, "DequantizeLinear")) return false;
        if (g.value(n.input(0)).shape().rank() != 4) return false;
        // X: per tensor, scale and zero point constants (or no zero point).
        Tensor sx = Rewrites.constantInput(g, dx, 1), zx = dx.hasInput(2) ? Rewrites.constantInput(g, dx, 2) : null;
        if (sx == null || sx.size() != 1 || sx.dtype() != DType.FLOAT32 || dx.hasInput(2) && (zx == null || zx.size() != 1)) return false;
        DType xType = g.value(dx.input(0)).dtype();
        if (xType != DType.UINT8 && xType != DType.INT8) return false;
        // W: constant bytes [M, C, KH, KW], per tensor or per output channel (axis 0).
        Tensor wq = g.initializers().get(dw.input(0)), sw = Rewrites.constantInput(g, dw, 1), zw = dw.hasInput(2) ? Rewrites.constantInput(g, dw, 2) : null;
        if (wq == null || wq.shape().rank() != 4 || (wq.dtype() != DType.INT8 && wq.dtype() != DType.UINT8)) return false;
        if (sw == null || sw.dtype() != DType.FLOAT32 || dw.hasInput(2) && zw == null) return false;
        int m = wq.shape().dim(0);
        if (sw.size() != 1) {
            int axis = (int) dw.attrInt("axis", 1);
            if (axis < 0) axis += 4;
            if (sw.shape().rank() != 1 || sw.size() != m || axis != 0) return false;
        }
        if (zw != null && zw.size() != sw.size()) return false;

        Node probe = new Node(n.name(), "ConvInteger", "", List.of(dx.input(0), dw.input(0), dx.hasInput(2) ? dx.input(2) : "",
                dw.hasInput(2) ? dw.input(2) : ""), List.of(n.output(0)), n.attrs(), 10);
        return DecomposeQuantizedProducts.int8ConvProduct(probe, QuantizedProduct.of(probe), g);
    }

    private static List<Node> rewrite(Graph g, Node n, Set<String> replaced) {
        if (!Rewrites.isOnnx(n, "Conv") || !takes(g, n)) return null;
        Node dx = g.producer(n.input(0)), dw = g.producer(n.input(1));
        Tensor sx = Rewrites.constantInput(g, dx, 1), zx = dx.hasInput(2) ? Rewrites.constantInput(g, dx, 2) : null;
        Tensor sw = Rewrites.constantInput(g, dw, 1), zw = dw.hasInput(2) ? Rewrites.constantInput(g, dw, 2) : null;
        int m = g.value(dw.input(0)).shape().dim(0);
        String base = n.name().isEmpty() ? n.output(0) : n.name();
        List<String> in = new ArrayList<>(List.of(dx.input(0), dw.input(0)));
        in.add(zx == null ? "" : Rewrites.constant(g, base + "_x_zero_point", zx.reshape(Shape.of())));
        if (zw != null) in.add(Rewrites.constant(g, base + "_w_zero_point", zw.size() == 1 ? zw.reshape(Shape.of()) : zw.reshape(new Shape(m))));
        String acc = Rewrites.fresh(g, base + "_acc");
        Node product = new Node(base + "/product", "ConvInteger", "", in, List.of(acc), n.attrs(), 10);
        float[] s = new float[sw.size()];
        for (int j = 0; j < s.length; j++) s[j] = sx.floats()[0] * sw.floats()[j];
        String scale = Rewrites.constant(g, base + "_scale", s.length == 1 ? Tensor.ofFloats(Shape.of(), s) : Tensor.ofFloats(Shape.of(m, 1, 1), s));
        String accF = Rewrites.fresh(g, base + "_acc_float");
        boolean bias = n.hasInput(2);
        String scaled = bias ? Rewrites.fresh(g, base + "_scaled") : n.output(0);
        List<Node> r = new ArrayList<>();
        r.add(product);
        r.add(new Node(base + "/to_float", "Cast", "", List.of(acc), List.of(accF), Map.of("to", new Attr.Int(DType.FLOAT32.onnxCode)), Rewrites.OPSET));
        r.add(new Node(base + "/dequantize", "Mul", "", List.of(accF, scale), List.of(scaled), Map.of(), Rewrites.OPSET));
        if (bias) {
            String b = Rewrites.fresh(g, base + "_bias_per_channel");
            r.add(Rewrites.reshape(g, base + "/bias_reshape", n.input(2), new long[] {-1, 1, 1}, b));
            r.add(new Node(base + "/bias", "Add", "", List.of(scaled, b), List.of(n.output(0)), Map.of(), Rewrites.OPSET));
        }
        replaced.addAll(dx.inputs());
        replaced.addAll(dw.inputs());
        return r;
    }
}
