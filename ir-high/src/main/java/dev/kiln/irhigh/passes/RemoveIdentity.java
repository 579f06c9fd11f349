package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Removes Identity nodes, and Dropout nodes that run in inference mode with no mask output, by
 * making their consumers read the input directly. Graph output names stay stable: when such a
 * node produces a graph output, the node that computes its input is renamed to produce the graph
 * output instead; when that is not possible (the input is a graph input, an initializer, or
 * another graph output) the node is kept.
 */
public final class RemoveIdentity {
    private RemoveIdentity() {}

    /** Removes the nodes and returns how many were removed. */
    public static int run(Graph g) {
        Set<String> graphOutputs = new HashSet<>(g.outputs());
        Set<String> produced = new HashSet<>();
        for (Node n : g.nodes()) produced.addAll(n.outputs());
        // alias: a value name -> the name that replaces it everywhere.
        Map<String, String> alias = new HashMap<>();
        List<Node> kept = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!removable(n, g)) {
                kept.add(n);
                continue;
            }
            String in = resolve(alias, n.input(0)), out = n.output(0);
            if (!graphOutputs.contains(out)) {
                alias.put(out, in);
            } else if (produced.contains(in) && !graphOutputs.contains(in) && !alias.containsKey(in)) {
                alias.put(in, out); // the producer of `in` now writes the graph output directly
            } else {
                kept.add(n);
            }
        }
        int removed = g.nodes().size() - kept.size();
        if (removed == 0) return 0;
        List<Node> rewritten = new ArrayList<>();
        for (Node n : kept) {
            List<String> ins = n.inputs().stream().map(s -> resolve(alias, s)).toList();
            List<String> outs = n.outputs().stream().map(s -> resolve(alias, s)).toList();
            rewritten.add(new Node(n.name(), n.op(), n.domain(), ins, outs, n.attrs(), n.opset()));
        }
        g.setNodes(rewritten);
        Map<String, Value> values = g.values();
        for (String from : alias.keySet()) {
            String to = resolve(alias, from);
            Value v = values.remove(from);
            if (v != null && !values.containsKey(to)) values.put(to, new Value(to, v.dtype(), v.shape()));
        }
        return removed;
    }

    private static String resolve(Map<String, String> alias, String name) {
        String r = name;
        for (String next; (next = alias.get(r)) != null; ) r = next;
        return r;
    }

    private static boolean removable(Node n, Graph g) {
        if (!OpRegistry.isOnnxDomain(n.domain()) || n.inputs().isEmpty() || n.input(0).isEmpty()) return false;
        if (n.op().equals("Identity")) return n.outputs().size() == 1;
        if (!n.op().equals("Dropout")) return false;
        if (n.outputs().size() > 1 && !n.output(1).isEmpty()) return false; // the mask is used
        if (!n.hasInput(2)) return true;
        Tensor mode = g.initializers().get(n.input(2)); // training_mode
        return mode != null && mode.size() == 1 && mode.getLong(0) == 0;
    }
}
