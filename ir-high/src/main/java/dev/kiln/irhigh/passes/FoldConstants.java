package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Constant folding: walks the nodes in order, inferring types as it goes; a node whose every
 * input is a constant (initializer), or a Shape/Size node (shapes are static), is evaluated with
 * the reference evaluator and its outputs become initializers. Graph outputs that become
 * constants stay graph outputs, naming an initializer. Initializers that only folded nodes used
 * are dropped.
 *
 * <p>One exception keeps the model small: a node whose result is large and bigger than its
 * inputs (an Expand, Tile or ConstantOfShape of more than {@link #GROWTH_LIMIT} elements) is
 * left to run at inference time rather than stored as weights.
 */
public final class FoldConstants {
    private FoldConstants() {}

    static final long GROWTH_LIMIT = 1 << 20;

    /** What the pass did. */
    public record Result(int folded, int remaining) {
        @Override
        public String toString() {
            return "folded " + folded + " node" + (folded == 1 ? "" : "s") + " into constants, " + remaining + " left";
        }
    }

    public static Result run(Graph g) {
        g.sortTopologically();
        Map<String, Value> values = g.values();
        for (Value v : g.inputs()) values.put(v.name(), v);
        Map<String, Tensor> constants = g.initializers();
        for (var e : constants.entrySet()) values.put(e.getKey(), new Value(e.getKey(), e.getValue().dtype(), e.getValue().shape()));
        List<Node> kept = new ArrayList<>();
        Set<String> foldedInputs = new HashSet<>();
        for (Node n : g.nodes()) {
            List<Value> outs = ShapeInference.inferNode(n, values, constants);
            List<Tensor> result = null;
            if (ShapeInference.isShapeQuery(n)) {
                result = ShapeInference.evalShapeQuery(n, values.get(n.input(0)).shape());
            } else if (allConstant(n, constants) && !grows(n, outs, constants)) {
                List<Tensor> ins = new ArrayList<>();
                for (String in : n.inputs()) ins.add(in.isEmpty() ? null : constants.get(in));
                result = Evaluator.evalNode(n, ins);
            }
            if (result == null) {
                kept.add(n);
                continue;
            }
            for (int i = 0; i < result.size(); i++)
                if (!n.output(i).isEmpty()) constants.put(n.output(i), result.get(i));
            foldedInputs.addAll(n.inputs());
        }
        int folded = g.nodes().size() - kept.size();
        g.setNodes(kept);
        dropUnused(g, foldedInputs);
        return new Result(folded, kept.size());
    }

    private static boolean allConstant(Node n, Map<String, Tensor> constants) {
        for (String in : n.inputs()) if (!in.isEmpty() && !constants.containsKey(in)) return false;
        return true;
    }

    private static boolean grows(Node n, List<Value> outs, Map<String, Tensor> constants) {
        long out = 0, in = 0;
        for (Value v : outs) out += v.shape().numel();
        for (String s : n.inputs()) if (!s.isEmpty()) in += constants.get(s).size();
        return out > GROWTH_LIMIT && out > in;
    }

    /** Removes the initializers among {@code candidates} that no node or graph output uses any more. */
    private static void dropUnused(Graph g, Set<String> candidates) {
        Set<String> used = new HashSet<>(g.outputs());
        for (Node n : g.nodes()) used.addAll(n.inputs());
        for (String c : candidates) {
            if (c.isEmpty() || used.contains(c) || !g.initializers().containsKey(c)) continue;
            g.initializers().remove(c);
            g.values().remove(c);
        }
    }
}
