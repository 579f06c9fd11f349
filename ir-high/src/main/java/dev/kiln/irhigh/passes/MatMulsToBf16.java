package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Bf16MatMul;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --precision bf16}: every float32 MatMul and Gemm whose weight is a rank-2 constant becomes
 * {@link Bf16MatMul} (weights and activations rounded to bfloat16, sums in float32). A MatMul read
 * only by an Add of a constant bias of N values takes the bias in (added once, after the sum, as the
 * Add did); so does Gemm's C of N values, times beta. Gemm's transposed weight is transposed here;
 * a Gemm with alpha other than 1, transA, or a C of another shape stays float32, as do products of
 * two activations (attention's). Only worth it where the CPU has the bf16 dot product (the caller
 * decides).
 */
public final class MatMulsToBf16 {
    private MatMulsToBf16() {}

    /** Rewrites every such MatMul and Gemm; returns how many. The graph must have been through shape inference. */
    public static int run(Graph g) {
        Map<String, List<Node>> readers = g.consumers();
        Map<Node, Node> biasAdds = new HashMap<>();
        for (Node n : g.nodes()) {
            if (!isOnnx(n, "MatMul") || weight(g, n.input(1)) == null || !float32(g, n.input(0))) continue;
            List<Node> r = readers.getOrDefault(n.output(0), List.of());
            if (r.size() != 1 || g.outputs().contains(n.output(0)) || !isOnnx(r.getFirst(), "Add")) continue;
            Node add = r.getFirst();
            String other = add.input(0).equals(n.output(0)) ? add.input(1) : add.input(0);
            Tensor bias = g.initializers().get(other);
            long cols = g.initializers().get(n.input(1)).shape().dim(1);
            if (bias != null && bias.dtype() == DType.FLOAT32 && bias.size() == cols && isRow(bias.shape())
                    && g.value(add.output(0)).shape().equals(g.value(n.output(0)).shape()))
                biasAdds.put(add, n);
        }
        Map<Node, Node> byMatMul = new HashMap<>();
        biasAdds.forEach((add, mm) -> byMatMul.put(mm, add));
        int replaced = Rewrites.replaceEach(g, n -> {
            if (biasAdds.containsKey(n)) return List.of();
            if (isOnnx(n, "MatMul")) return matMul(g, n, byMatMul.get(n));
            if (isOnnx(n, "Gemm")) return gemm(g, n);
            return null;
        });
        return replaced - biasAdds.size(); // the products, not the Adds folded into them
    }

    private static List<Node> matMul(Graph g, Node n, Node biasAdd) {
        if (weight(g, n.input(1)) == null || !float32(g, n.input(0))) return null;
        List<String> in = new ArrayList<>(List.of(n.input(0), n.input(1)));
        String out = n.output(0);
        if (biasAdd != null) {
            String bias = biasAdd.input(0).equals(n.output(0)) ? biasAdd.input(1) : biasAdd.input(0);
            in.add(Rewrites.constant(g, bias + "_row", g.initializers().get(bias).reshape(new Shape(g.initializers().get(bias).size()))));
            out = biasAdd.output(0);
        }
        return List.of(node(n, in, out));
    }

    private static List<Node> gemm(Graph g, Node n) {
        if (n.attrInt("transA", 0) != 0 || n.attrFloat("alpha", 1f) != 1f || !n.hasInput(1)) return null;
        Tensor w = weight(g, n.input(1));
        if (w == null || !float32(g, n.input(0)) || g.value(n.input(0)).shape().rank() != 2) return null;
        boolean transB = n.attrInt("transB", 0) != 0;
        long cols = w.shape().dim(transB ? 0 : 1);
        Tensor c = n.hasInput(2) ? g.initializers().get(n.input(2)) : null;
        if (n.hasInput(2) && (c == null || c.dtype() != DType.FLOAT32 || c.size() != cols || !isRow(c.shape()))) return null;
        List<String> in = new ArrayList<>(List.of(n.input(0), transB ? Rewrites.constant(g, n.input(1) + "_transposed", transpose(w)) : n.input(1)));
        if (c != null) {
            float beta = n.attrFloat("beta", 1f);
            float[] v = c.floats().clone();
            for (int i = 0; i < v.length; i++) v[i] *= beta;
            in.add(Rewrites.constant(g, n.input(2) + "_bias", Tensor.ofFloats(new Shape(v.length), v)));
        }
        return List.of(node(n, in, n.output(0)));
    }

    private static Node node(Node n, List<String> in, String out) {
        String base = n.name().isEmpty() ? out : n.name();
        return new Node(base + "/bf16", Bf16MatMul.OP, Bf16MatMul.DOMAIN, in, List.of(out), Map.of(), Rewrites.OPSET);
    }

    /** The value as a float32 rank-2 constant, else null. */
    private static Tensor weight(Graph g, String name) {
        Tensor t = g.initializers().get(name);
        return t != null && t.dtype() == DType.FLOAT32 && t.shape().rank() == 2 ? t : null;
    }

    private static boolean float32(Graph g, String name) {
        return g.value(name).dtype() == DType.FLOAT32 && g.value(name).shape().rank() >= 1;
    }

    /** Whether the shape is a row of values: {@code [N]} or {@code [1, ..., 1, N]}. */
    private static boolean isRow(Shape s) {
        for (int i = 0; i < s.rank() - 1; i++) if (s.dim(i) != 1) return false;
        return s.rank() >= 1;
    }

    private static Tensor transpose(Tensor t) {
        int rows = t.shape().dim(0), cols = t.shape().dim(1);
        float[] v = t.floats(), r = new float[v.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) r[j * rows + i] = v[i * cols + j];
        return Tensor.ofFloats(new Shape(cols, rows), r);
    }

    private static boolean isOnnx(Node n, String op) {
        return n.op().equals(op) && OpRegistry.isOnnxDomain(n.domain());
    }
}
