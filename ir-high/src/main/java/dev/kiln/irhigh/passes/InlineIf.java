package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Replaces each {@code If} whose condition is known at compile time by the branch it takes: a
 * constant, or a value computed from constants and the static shapes of inputs (a sample rate
 * bound with {@code --input-value} and compared with 16000, a dimension compared with 1). The
 * branch's nodes and initializers join the graph under names prefixed by the If's, its outputs
 * become the If's outputs (through Identity nodes that later passes remove), and Ifs nested in
 * it are inlined in turn. Runs first, before shape inference, on the graph as read. An If whose
 * condition depends on input values stays and is refused with an error that names those inputs.
 */
public final class InlineIf {
    private InlineIf() {}

    /** Inlines every If with a compile-time condition, nested ones too; returns how many. */
    public static int run(Graph g) {
        int total = 0;
        while (true) {
            int n = Rewrites.replaceEach(g, node -> isIf(node) ? inline(node, g) : null);
            if (n == 0) return total;
            total += n;
        }
    }

    private static boolean isIf(Node n) {
        return n.op().equals("If") && OpRegistry.isOnnxDomain(n.domain());
    }

    /** The taken branch's nodes, or null (the If stays) when the condition is not known. */
    private static List<Node> inline(Node n, Graph g) {
        Boolean cond = condition(n, g);
        if (cond == null) return null;
        String attr = cond ? "then_branch" : "else_branch";
        if (!(n.attrs().get(attr) instanceof Attr.GraphAttr(Graph branch)))
            throw n.error("has no graph attribute '" + attr + "'; the model is malformed");
        if (branch.outputs().size() != n.outputs().size())
            throw n.error("has " + n.outputs().size() + " outputs but its " + attr + " has " + branch.outputs().size());
        String prefix = (n.name().isEmpty() ? "if" : n.name()) + "/" + (cond ? "then" : "else") + "/";
        Map<String, String> rename = new HashMap<>();
        for (String name : branch.initializers().keySet()) rename.put(name, Rewrites.fresh(g, prefix + name));
        for (Node m : branch.nodes()) for (String o : m.outputs()) if (!o.isEmpty()) rename.put(o, Rewrites.fresh(g, prefix + o));
        branch.initializers().forEach((k, v) -> g.initializers().put(rename.get(k), v));
        List<Node> out = new ArrayList<>();
        for (Node m : branch.nodes()) out.add(renamed(m, rename, prefix));
        for (int i = 0; i < n.outputs().size(); i++) {
            if (n.output(i).isEmpty()) continue;
            String src = rename.getOrDefault(branch.outputs().get(i), branch.outputs().get(i));
            out.add(new Node(prefix + "output" + i, "Identity", "", List.of(src), List.of(n.output(i)), Map.of(), Rewrites.OPSET));
        }
        return out;
    }

    /** {@code m} with its values renamed, in nested graphs too (their references to the branch's values). */
    private static Node renamed(Node m, Map<String, String> rename, String prefix) {
        Map<String, Attr> attrs = new LinkedHashMap<>();
        for (var e : m.attrs().entrySet()) {
            attrs.put(e.getKey(), e.getValue() instanceof Attr.GraphAttr(Graph sub) ? new Attr.GraphAttr(renamedGraph(sub, rename)) : e.getValue());
        }
        return new Node(prefix + m.name(), m.op(), m.domain(), names(m.inputs(), rename), names(m.outputs(), rename), attrs, m.opset());
    }

    /** A nested graph whose references to renamed outer values follow the renaming (names it defines itself shadow them). */
    private static Graph renamedGraph(Graph sub, Map<String, String> rename) {
        Map<String, String> visible = new HashMap<>(rename);
        sub.initializers().keySet().forEach(visible::remove);
        sub.inputs().forEach(v -> visible.remove(v.name()));
        for (Node m : sub.nodes()) m.outputs().forEach(visible::remove);
        Graph r = new Graph(sub.name());
        r.inputs().addAll(sub.inputs());
        r.values().putAll(sub.values());
        r.initializers().putAll(sub.initializers());
        r.opsets().putAll(sub.opsets());
        r.outputs().addAll(names(sub.outputs(), visible));
        List<Node> nodes = new ArrayList<>();
        for (Node m : sub.nodes()) {
            Map<String, Attr> attrs = new LinkedHashMap<>();
            for (var e : m.attrs().entrySet())
                attrs.put(e.getKey(), e.getValue() instanceof Attr.GraphAttr(Graph s) ? new Attr.GraphAttr(renamedGraph(s, visible)) : e.getValue());
            nodes.add(new Node(m.name(), m.op(), m.domain(), names(m.inputs(), visible), m.outputs(), attrs, m.opset()));
        }
        r.setNodes(nodes);
        return r;
    }

    private static List<String> names(List<String> names, Map<String, String> rename) {
        return names.stream().map(s -> rename.getOrDefault(s, s)).toList();
    }

    /**
     * The If's condition when it follows from constants and static shapes, else null. Every path
     * from the condition back to a graph input must pass through a Shape or Size node (which
     * read only a shape); the nodes it is computed by are then evaluated, graph inputs standing
     * in as zeros of their declared shapes.
     */
    private static Boolean condition(Node n, Graph g) {
        String cond = n.input(0);
        Map<String, Node> producer = new HashMap<>();
        for (Node m : g.nodes()) for (String o : m.outputs()) if (!o.isEmpty()) producer.put(o, m);
        Map<String, Value> inputs = new HashMap<>();
        g.inputs().forEach(v -> inputs.put(v.name(), v));
        if (!valueFree(cond, producer, inputs, g)) return null;
        // The cone: every node upstream of the condition, through Shape and Size too.
        Set<Node> cone = new HashSet<>();
        Map<String, Tensor> feed = new LinkedHashMap<>();
        Deque<String> todo = new ArrayDeque<>(List.of(cond));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (!seen.add(v) || g.initializers().containsKey(v)) continue;
            Value gi = inputs.get(v);
            if (gi != null) {
                if (gi.shape() == null || gi.dtype() == null) return null;
                feed.put(v, Tensor.zeros(gi.dtype(), gi.shape()));
                continue;
            }
            Node p = producer.get(v);
            if (p == null || isIf(p) || p.attrs().values().stream().anyMatch(a -> a instanceof Attr.GraphAttr)) return null;
            cone.add(p);
            for (String in : p.inputs()) if (!in.isEmpty()) todo.push(in);
        }
        Graph sub = new Graph("condition");
        sub.initializers().putAll(g.initializers());
        sub.opsets().putAll(g.opsets());
        for (String name : feed.keySet()) {
            sub.inputs().add(inputs.get(name));
            sub.values().put(name, inputs.get(name));
        }
        sub.setNodes(g.nodes().stream().filter(cone::contains).toList());
        sub.outputs().add(cond);
        Tensor t;
        try {
            t = Evaluator.run(sub, feed).get(cond);
        } catch (KilnException e) {
            return null; // an op the evaluator refuses: the If stays, and is reported as such
        }
        if (t.size() != 1) throw n.error("has a condition with " + t.size() + " elements; If takes a single bool");
        return t.getDouble(0) != 0;
    }

    /** Whether {@code value} depends on no graph input's values (only, through Shape or Size, on their shapes). */
    private static boolean valueFree(String value, Map<String, Node> producer, Map<String, Value> inputs, Graph g) {
        Deque<String> todo = new ArrayDeque<>(List.of(value));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (!seen.add(v) || g.initializers().containsKey(v)) continue;
            if (inputs.containsKey(v)) return false;
            Node p = producer.get(v);
            if (p == null) return false;
            if (p.op().equals("Shape") || p.op().equals("Size")) continue;
            for (String in : p.inputs()) if (!in.isEmpty()) todo.push(in);
        }
        return true;
    }
}
