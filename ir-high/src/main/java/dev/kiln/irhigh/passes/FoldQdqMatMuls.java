package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The MatMul and Gemm of a QDQ model whose weight is a constant behind a DequantizeLinear and whose
 * activation comes through one, {@code MatMul(DQ(a_q, sa, za), DQ(b_q, sb, zb))}, computed on the
 * quantized values: {@code MatMulInteger(a_q, b_q, za, zb)} (exact int32), cast to float, times
 * {@code sa * sb} (per tensor or per column of B), plus Gemm's bias. Real arithmetic gives the same
 * result as the float product of the dequantized values; float arithmetic rounds differently (once,
 * after an exact sum, instead of at every step), by a few ulps. Gemm's B transposed ({@code transB})
 * is transposed here, at compile time. The weight stays int8 in the library. Only worth it where the
 * target multiplies bytes fast (the caller decides); the activation's QuantizeLinear stays and
 * writes the bytes the product reads.
 */
public final class FoldQdqMatMuls {
    private FoldQdqMatMuls() {}

    /** Rewrites every such MatMul and Gemm; returns how many. The graph must have been through shape inference. */
    public static int run(Graph g) {
        Set<String> replaced = new HashSet<>();
        int count = Rewrites.replaceEach(g, n -> rewrite(g, n, replaced));
        if (count > 0) Rewrites.dropDeadDequantizations(g, replaced);
        return count;
    }

    private static List<Node> rewrite(Graph g, Node n, Set<String> replaced) {
        boolean gemm = Rewrites.isOnnx(n, "Gemm");
        if (!gemm && !Rewrites.isOnnx(n, "MatMul")) return null;
        if (gemm && (n.attrInt("transA", 0) != 0 || !n.hasInput(1))) return null;
        boolean transB = gemm && n.attrInt("transB", 0) != 0;
        Node da = g.producer(n.input(0)), db = g.producer(n.input(1));
        if (da == null || db == null || !Rewrites.isOnnx(da, "DequantizeLinear") || !Rewrites.isOnnx(db, "DequantizeLinear")) return null;
        // A: per tensor, zero point a constant (or none).
        Tensor sa = Rewrites.constantInput(g, da, 1), za = da.hasInput(2) ? Rewrites.constantInput(g, da, 2) : null;
        if (sa == null || sa.size() != 1 || sa.dtype() != DType.FLOAT32 || da.hasInput(2) && (za == null || za.size() != 1)) return null;
        DType aType = g.value(da.input(0)).dtype();
        if (aType != DType.UINT8 && aType != DType.INT8) return null;
        // B: a constant matrix of bytes, per tensor or per output column.
        Tensor bq = g.initializers().get(db.input(0)), sb = Rewrites.constantInput(g, db, 1), zb = db.hasInput(2) ? Rewrites.constantInput(g, db, 2) : null;
        if (bq == null || bq.shape().rank() != 2 || (bq.dtype() != DType.INT8 && bq.dtype() != DType.UINT8)) return null;
        if (sb == null || sb.dtype() != DType.FLOAT32 || db.hasInput(2) && zb == null) return null;
        int cols = bq.shape().dim(transB ? 0 : 1);
        if (sb.size() != 1) {
            int axis = (int) db.attrInt("axis", 1);
            if (axis < 0) axis += 2;
            if (sb.shape().rank() != 1 || sb.size() != cols || axis != (transB ? 0 : 1)) return null;
        }
        if (zb != null && zb.size() != sb.size()) return null;
        float alpha = gemm ? n.attrFloat("alpha", 1f) : 1f, beta = gemm ? n.attrFloat("beta", 1f) : 1f;
        Tensor c = gemm && n.hasInput(2) ? g.initializers().get(n.input(2)) : null;
        if (gemm && n.hasInput(2) && c == null) return null;

        String base = n.name().isEmpty() ? n.output(0) : n.name();
        Tensor b = transB ? transpose(bq) : bq;
        String bName = Rewrites.constant(g, db.input(0) + (transB ? "_transposed" : ""), b);
        List<String> in = new ArrayList<>(List.of(da.input(0), bName));
        in.add(za == null ? "" : Rewrites.constant(g, base + "_a_zero_point", za.reshape(Shape.of())));
        if (zb != null) in.add(Rewrites.constant(g, base + "_b_zero_point", zb.size() == 1 ? zb.reshape(Shape.of()) : zb.reshape(new Shape(cols))));
        float[] m = new float[sb.size()];
        for (int j = 0; j < m.length; j++) m[j] = sa.floats()[0] * sb.floats()[j] * alpha;
        String scale = Rewrites.constant(g, base + "_scale", m.length == 1 ? Tensor.ofFloats(Shape.of(), m) : Tensor.ofFloats(new Shape(cols), m));
        String acc = Rewrites.fresh(g, base + "_acc"), accF = Rewrites.fresh(g, base + "_acc_float");
        String scaled = c == null ? n.output(0) : Rewrites.fresh(g, base + "_scaled");
        List<Node> r = new ArrayList<>();
        r.add(new Node(base + "/product", "MatMulInteger", "", in, List.of(acc), Map.of(), Rewrites.OPSET));
        r.add(new Node(base + "/to_float", "Cast", "", List.of(acc), List.of(accF), Map.of("to", new Attr.Int(DType.FLOAT32.onnxCode)), Rewrites.OPSET));
        r.add(new Node(base + "/dequantize", "Mul", "", List.of(accF, scale), List.of(scaled), Map.of(), Rewrites.OPSET));
        if (c != null) {
            Tensor bias = c.cast(DType.FLOAT32);
            if (beta != 1f) {
                float[] v = bias.floats().clone();
                for (int i = 0; i < v.length; i++) v[i] *= beta;
                bias = Tensor.ofFloats(bias.shape(), v);
            }
            r.add(new Node(base + "/bias", "Add", "", List.of(scaled, Rewrites.constant(g, base + "_bias", bias)), List.of(n.output(0)), Map.of(),
                    Rewrites.OPSET));
        }
        replaced.addAll(da.inputs());
        replaced.addAll(db.inputs());
        return r;
    }

    private static Tensor transpose(Tensor t) {
        int rows = t.shape().dim(0), cols = t.shape().dim(1);
        Tensor r = Tensor.zeros(t.dtype(), new Shape(cols, rows));
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) r.setLong(j * rows + i, t.getLong(i * cols + j));
        return r;
    }
}
