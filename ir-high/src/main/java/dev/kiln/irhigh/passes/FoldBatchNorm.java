package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds an inference-mode BatchNormalization into the Conv that feeds it: with
 * {@code f = scale / sqrt(var + eps)} per output channel, {@code W' = W * f} and
 * {@code B' = (B - mean) * f + bias}, so the pair becomes one Conv with new weight and bias
 * initializers. Applies only where the Conv's output is read by the BatchNormalization alone (and
 * is not a graph output), the weights, bias and BN parameters are constants, and the dtype is
 * float32 or float64. Gemm (without transposed A) or a MatMul of matrices feeding a BN over its
 * columns folds the same way (the MatMul becomes a Gemm with the folded bias).
 */
public final class FoldBatchNorm {
    private FoldBatchNorm() {}

    /** Folds every eligible pair; returns how many BatchNormalization nodes were removed. */
    public static int run(Graph g) {
        Map<String, List<Node>> consumers = g.consumers();
        Set<String> graphOutputs = new HashSet<>(g.outputs());
        Map<String, Node> producers = new HashMap<>();
        for (Node n : g.nodes()) for (String o : n.outputs()) if (!o.isEmpty()) producers.put(o, n);

        Map<Node, Node> replaced = new HashMap<>(); // producer -> folded node
        Set<Node> removed = new HashSet<>();
        for (Node bn : g.nodes()) {
            if (!isInferenceBn(bn, g)) continue;
            Node p = producers.get(bn.input(0));
            if (p == null || replaced.containsKey(p) || graphOutputs.contains(bn.input(0))) continue;
            if (consumers.getOrDefault(bn.input(0), List.of()).size() != 1) continue;
            Node folded = switch (p.op()) {
                case "Conv" -> OpRegistry.isOnnxDomain(p.domain()) ? foldConv(p, bn, g) : null;
                case "Gemm" -> OpRegistry.isOnnxDomain(p.domain()) ? foldGemm(p, bn, g) : null;
                case "MatMul" -> OpRegistry.isOnnxDomain(p.domain()) && p.opset() >= 7 && g.value(p.input(0)).shape().rank() == 2
                        ? foldGemm(asGemm(p), bn, g) : null;
                default -> null;
            };
            if (folded == null) continue;
            replaced.put(p, folded);
            removed.add(bn);
        }
        if (removed.isEmpty()) return 0;
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (removed.contains(n)) continue;
            nodes.add(replaced.getOrDefault(n, n));
        }
        g.setNodes(nodes);
        for (Node p : replaced.keySet()) g.values().remove(p.output(0));
        dropUnused(g);
        return removed.size();
    }

    private static boolean isInferenceBn(Node n, Graph g) {
        if (!n.op().equals("BatchNormalization") || !OpRegistry.isOnnxDomain(n.domain())) return false;
        if (n.attrInt("training_mode", 0) != 0) return false;
        for (int i = 1; i < n.outputs().size(); i++) if (!n.output(i).isEmpty()) return false;
        for (int i = 1; i <= 4; i++) if (!n.hasInput(i) || !g.isConstant(n.input(i))) return false;
        return true;
    }

    /** Per-channel factor f and shift s of the BN: {@code bn(x) = x * f + s}. */
    private record Affine(double[] f, double[] s) {}

    private static Affine affine(Node bn, Graph g, int channels) {
        Tensor scale = g.initializers().get(bn.input(1)), bias = g.initializers().get(bn.input(2));
        Tensor mean = g.initializers().get(bn.input(3)), var = g.initializers().get(bn.input(4));
        for (Tensor t : List.of(scale, bias, mean, var)) if (t.size() != channels) return null;
        double eps = bn.attrFloat("epsilon", 1e-5f);
        double[] f = new double[channels], s = new double[channels];
        for (int c = 0; c < channels; c++) {
            f[c] = scale.getDouble(c) / Math.sqrt(var.getDouble(c) + eps);
            s[c] = bias.getDouble(c) - mean.getDouble(c) * f[c];
        }
        return new Affine(f, s);
    }

    private static Node foldConv(Node conv, Node bn, Graph g) {
        Tensor w = conv.hasInput(1) ? g.initializers().get(conv.input(1)) : null;
        if (w == null || !isFloat(w.dtype()) || w.shape().rank() < 3) return null;
        Tensor b = conv.hasInput(2) ? g.initializers().get(conv.input(2)) : null;
        if (conv.hasInput(2) && b == null) return null;
        int m = w.shape().dim(0);
        Affine a = affine(bn, g, m);
        if (a == null) return null;
        Tensor w2 = Tensor.zeros(w.dtype(), w.shape());
        int per = w.size() / m;
        for (int i = 0; i < w.size(); i++) w2.setDouble(i, w.getDouble(i) * a.f()[i / per]);
        Tensor b2 = Tensor.zeros(w.dtype(), new Shape(m));
        for (int c = 0; c < m; c++) b2.setDouble(c, (b == null ? 0 : b.getDouble(c)) * a.f()[c] + a.s()[c]);
        String wName = Rewrites.fresh(g, conv.input(1) + "_bn"), bName = Rewrites.fresh(g, bn.output(0) + "_bias");
        g.initializers().put(wName, w2);
        g.initializers().put(bName, b2);
        return new Node(conv.name(), conv.op(), conv.domain(), List.of(conv.input(0), wName, bName), List.of(bn.output(0)),
                conv.attrs(), conv.opset());
    }

    /**
     * {@code Y = alpha * A * op(B) + beta * C} followed by a BN over Y's columns (rank 2, channel
     * axis 1): the columns of op(B) are scaled and C becomes the folded per-column bias.
     */
    private static Node foldGemm(Node gemm, Node bn, Graph g) {
        Tensor b = g.initializers().get(gemm.input(1));
        if (b == null || !isFloat(b.dtype()) || b.shape().rank() != 2 || gemm.attrInt("transA", 0) != 0) return null;
        boolean transB = gemm.attrInt("transB", 0) != 0;
        int n = b.shape().dim(transB ? 0 : 1), k = b.shape().dim(transB ? 1 : 0);
        Tensor c = gemm.hasInput(2) ? g.initializers().get(gemm.input(2)) : null;
        if (gemm.hasInput(2) && (c == null || (c.size() != 1 && !c.shape().equals(new Shape(n))))) return null;
        Affine a = affine(bn, g, n);
        if (a == null) return null;
        double beta = gemm.attrFloat("beta", 1f);
        Tensor b2 = Tensor.zeros(b.dtype(), b.shape());
        for (int i = 0; i < b.size(); i++) b2.setDouble(i, b.getDouble(i) * a.f()[transB ? i / k : i % n]);
        Tensor c2 = Tensor.zeros(b.dtype(), new Shape(n));
        for (int j = 0; j < n; j++) c2.setDouble(j, (c == null ? 0 : beta * c.getDouble(c.size() == 1 ? 0 : j)) * a.f()[j] + a.s()[j]);
        String bName = Rewrites.fresh(g, gemm.input(1) + "_bn"), cName = Rewrites.fresh(g, bn.output(0) + "_bias");
        g.initializers().put(bName, b2);
        g.initializers().put(cName, c2);
        Map<String, Attr> attrs = new java.util.LinkedHashMap<>(gemm.attrs());
        attrs.put("beta", new Attr.Float(1f));
        return new Node(gemm.name(), gemm.op(), gemm.domain(), List.of(gemm.input(0), bName, cName), List.of(bn.output(0)),
                attrs, gemm.opset());
    }

    /** A MatMul of two matrices as the Gemm it equals, so it can take the folded bias. */
    private static Node asGemm(Node matmul) {
        return new Node(matmul.name(), "Gemm", matmul.domain(), matmul.inputs(), matmul.outputs(), Map.of(), matmul.opset());
    }

    private static boolean isFloat(DType t) {
        return t == DType.FLOAT32 || t == DType.FLOAT64;
    }

    /** Drops initializers no node reads any more (the unfolded weights and BN parameters). */
    private static void dropUnused(Graph g) {
        Set<String> used = new HashSet<>(g.outputs());
        for (Node n : g.nodes()) used.addAll(n.inputs());
        g.initializers().keySet().removeIf(k -> !used.contains(k));
    }
}
