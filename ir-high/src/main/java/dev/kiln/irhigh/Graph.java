package dev.kiln.irhigh;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The high-level graph IR: typed inputs, constant initializers, nodes in topological order and
 * named outputs. {@link #values} holds the dtype and static shape of every value once shape
 * inference has run (see {@code dev.kiln.irhigh.ShapeInference}).
 *
 * <p>A Graph is a plain mutable container; passes build a new node list and set it.
 */
public final class Graph {
    private String name;
    private final List<Value> inputs = new ArrayList<>();
    private final List<String> outputs = new ArrayList<>();
    private final Map<String, Tensor> initializers = new LinkedHashMap<>();
    private List<Node> nodes = new ArrayList<>();
    private final Map<String, Value> values = new LinkedHashMap<>();
    /** Opset per domain ("" is the default ONNX domain). */
    private final Map<String, Integer> opsets = new LinkedHashMap<>();
    private final Map<String, List<Guard>> guards = new HashMap<>();

    /**
     * A condition under which a value is needed: the bool {@code cond} (one element) being
     * {@code when}. An If whose condition is only known at run time computes both branches and
     * selects its outputs with Where; the values of each branch carry the branch's guard.
     */
    public record Guard(String cond, boolean when) {}

    public Graph(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    /** Graph inputs that are fed at run time (initializers excluded). */
    public List<Value> inputs() {
        return inputs;
    }

    public List<String> outputs() {
        return outputs;
    }

    public Map<String, Tensor> initializers() {
        return initializers;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public void setNodes(List<Node> nodes) {
        this.nodes = new ArrayList<>(nodes);
    }

    /** Type information of every value known so far, by name. */
    public Map<String, Value> values() {
        return values;
    }

    public Map<String, Integer> opsets() {
        return opsets;
    }

    /**
     * For each value computed inside the branch of an If that is only decided at run time, the
     * guards of that branch and of the branches around it, outermost first. Such a value is never
     * part of a result when a guard fails (the branch's exports are only read by the Where that
     * picks the other branch), so the executor may skip a kernel whose outputs all carry one list.
     * A value without an entry is always computed; passes that make new values leave them so.
     */
    public Map<String, List<Guard>> guards() {
        return guards;
    }

    /** The value's type; throws if shape inference has not reached it. */
    public Value value(String name) {
        Value v = values.get(name);
        if (v == null) {
            Tensor t = initializers.get(name);
            if (t != null) return new Value(name, t.dtype(), t.shape());
            throw new KilnException("value '" + name + "' has no known type (is it produced by any node?)");
        }
        return v;
    }

    public boolean isConstant(String name) {
        return initializers.containsKey(name);
    }

    /** The node that produces a value, or null for inputs and initializers. */
    public Node producer(String value) {
        for (Node n : nodes) if (n.outputs().contains(value)) return n;
        return null;
    }

    /** Consumers of every value, by value name. */
    public Map<String, List<Node>> consumers() {
        Map<String, List<Node>> r = new HashMap<>();
        for (Node n : nodes) for (String in : n.inputs()) if (!in.isEmpty()) r.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        return r;
    }

    /**
     * Checks that every node input is defined before use (graph input, initializer or earlier
     * node output) and that no value is defined twice; reorders nodes topologically when the
     * file listed them out of order. Throws a clear error for cycles and undefined values.
     */
    public void sortTopologically() {
        Set<String> defined = new HashSet<>();
        for (Value v : inputs) defined.add(v.name());
        defined.addAll(initializers.keySet());
        Map<String, Node> producers = new HashMap<>();
        for (Node n : nodes) {
            for (String o : n.outputs()) {
                if (o.isEmpty()) continue;
                if (defined.contains(o) || producers.put(o, n) != null)
                    throw new KilnException(n.describe() + ": output '" + o + "' is defined more than once in graph '" + name + "'");
            }
        }
        List<Node> sorted = new ArrayList<>();
        Set<Node> done = new HashSet<>();
        Set<Node> onStack = new HashSet<>();
        for (Node n : nodes) visit(n, producers, defined, done, onStack, sorted);
        nodes = sorted;
        for (String o : outputs) {
            if (!defined.contains(o) && !producers.containsKey(o))
                throw new KilnException("graph output '" + o + "' of graph '" + name + "' is not produced by any node");
        }
    }

    private void visit(Node n, Map<String, Node> producers, Set<String> defined, Set<Node> done, Set<Node> onStack, List<Node> out) {
        if (done.contains(n)) return;
        if (!onStack.add(n)) throw new KilnException(n.describe() + " is part of a cycle in graph '" + name + "'; ONNX graphs must be acyclic");
        for (String in : n.inputs()) {
            if (in.isEmpty() || defined.contains(in)) continue;
            Node p = producers.get(in);
            if (p == null)
                throw new KilnException(n.describe() + ": input '" + in + "' is not a graph input, an initializer or the output of any node (missing initializer?)");
            visit(p, producers, defined, done, onStack, out);
        }
        onStack.remove(n);
        done.add(n);
        out.add(n);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("graph ").append(name).append(" (");
        for (int i = 0; i < inputs.size(); i++) b.append(i == 0 ? "" : ", ").append(inputs.get(i));
        b.append(") {\n");
        for (var e : initializers.entrySet())
            b.append("  const ").append(e.getKey()).append(": ").append(e.getValue().dtype().numpyName).append(e.getValue().shape()).append('\n');
        for (Node n : nodes) {
            b.append("  ");
            for (int i = 0; i < n.outputs().size(); i++) {
                String o = n.outputs().get(i);
                Value v = values.get(o);
                b.append(i == 0 ? "" : ", ").append(v != null ? v.toString() : o);
            }
            b.append(" = ").append(n.op()).append('(').append(String.join(", ", n.inputs())).append(')');
            if (!n.attrs().isEmpty()) b.append(' ').append(attrsToString(n.attrs()));
            b.append("   # ").append(n.name()).append('\n');
        }
        return b.append("  return ").append(String.join(", ", outputs)).append("\n}\n").toString();
    }

    private static String attrsToString(Map<String, Attr> attrs) {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (var e : attrs.entrySet()) {
            b.append(first ? "" : ", ").append(e.getKey()).append('=');
            first = false;
            switch (e.getValue()) {
                case Attr.Int(long v) -> b.append(v);
                case Attr.Float(float v) -> b.append(v);
                case Attr.Str(String v) -> b.append('"').append(v).append('"');
                case Attr.Ints(long[] v) -> b.append(java.util.Arrays.toString(v));
                case Attr.Floats(float[] v) -> b.append(java.util.Arrays.toString(v));
                case Attr.Strs(List<String> v) -> b.append(v);
                case Attr.TensorAttr(Tensor v) -> b.append(v.dtype().numpyName).append(v.shape());
                case Attr.GraphAttr(Graph g) -> b.append("graph ").append(g.name());
            }
        }
        return b.append('}').toString();
    }
}
