package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import java.util.Map;

/** What the passes that replace a node by others share: fresh names, new constants, reshapes. */
final class Rewrites {
    private Rewrites() {}

    /** The opset of the nodes the rewrites add (Reshape, Pad and Slice with their shapes as inputs). */
    static final int OPSET = 13;

    /**
     * Replaces each node of {@code g} for which {@code rewrite} gives a list (null: keep it) by
     * that list, in place; returns how many were replaced.
     */
    static int replaceEach(Graph g, java.util.function.Function<Node, List<Node>> rewrite) {
        List<Node> out = new java.util.ArrayList<>();
        int replaced = 0;
        for (Node n : g.nodes()) {
            List<Node> r = rewrite.apply(n);
            if (r == null) {
                out.add(n);
            } else {
                out.addAll(r);
                replaced++;
            }
        }
        if (replaced > 0) g.setNodes(out);
        return replaced;
    }

    /** {@code base}, or {@code base_K} for the first K that names no value or constant of {@code g}. */
    static String fresh(Graph g, String base) {
        String r = base;
        for (int k = 1; g.initializers().containsKey(r) || g.values().containsKey(r); k++) r = base + "_" + k;
        return r;
    }

    /** Adds {@code t} as a constant under a fresh name made from {@code base}; returns the name. */
    static String constant(Graph g, String base, Tensor t) {
        String name = fresh(g, base);
        g.initializers().put(name, t);
        return name;
    }

    static Tensor longs(long[] v) {
        return Tensor.ofLongs(new Shape(v.length), v);
    }

    /** Whether {@code n} is the ONNX op {@code op} (default domain). */
    static boolean isOnnx(Node n, String op) {
        return n.op().equals(op) && dev.kiln.irhigh.ops.OpRegistry.isOnnxDomain(n.domain());
    }

    /** The node's input {@code i} when it is a constant, else null. */
    static Tensor constantInput(Graph g, Node n, int i) {
        return n.hasInput(i) ? g.initializers().get(n.input(i)) : null;
    }

    /**
     * After a fold of QDQ products: drops the DequantizeLinear nodes nothing reads any more, then those
     * of {@code dequantizedInputs} (their inputs) that are constants nothing else reads.
     */
    static void dropDeadDequantizations(Graph g, java.util.Set<String> dequantizedInputs) {
        java.util.Set<String> read = new java.util.HashSet<>(g.outputs());
        for (Node x : g.nodes()) read.addAll(x.inputs());
        g.setNodes(new java.util.ArrayList<>(g.nodes().stream().filter(x -> !isOnnx(x, "DequantizeLinear") || read.contains(x.output(0))).toList()));
        java.util.Set<String> used = new java.util.HashSet<>(g.outputs());
        for (Node x : g.nodes()) used.addAll(x.inputs());
        g.initializers().keySet().removeIf(name -> dequantizedInputs.contains(name) && !used.contains(name));
    }

    /** A Reshape node of {@code in} to {@code shape} (a new constant), writing {@code out}. */
    static Node reshape(Graph g, String name, String in, long[] shape, String out) {
        return new Node(name, "Reshape", "", List.of(in, constant(g, name + "_shape", longs(shape))), List.of(out), Map.of(), OPSET);
    }
}
