package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irhigh.ops.OpKinds;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Groups nodes that become one kernel. A group starts at an anchor (Conv, MatMul, Gemm, a pool,
 * reduction, softmax or layer norm) or at an elementwise op, and absorbs the elementwise ops that
 * consume its values, as long as every value it produces except the last is read only inside the
 * group and is not a graph output: Conv, Add(skip), Relu is one kernel; BERT's GELU (Div, Erf,
 * Add, Mul, Mul, reading the same input twice) is one kernel. A group value is never broadcast
 * (so nothing is recomputed), but a reshape of it may join (MatMul, Add, Reshape); the absorbed
 * ops' other inputs (a skip tensor, a bias) become inputs of the group.
 *
 * <p>A group of two or more nodes is replaced by one node {@code kiln.Fused} whose {@code body}
 * attribute is the group as a graph (its external inputs, the constants among them as
 * initializers, its nodes in order, its one output). The graph must have been through shape
 * inference; nothing after this pass evaluates or re-infers the graph.
 */
public final class FuseOps {
    private FuseOps() {}

    public static final String DOMAIN = "kiln";
    public static final String OP = "Fused";
    public static final String BODY = "body";

    /** How far past the group's last committed node the search looks for ops that close a diamond (GELU's x feeds two ops). */
    private static final int WINDOW = 12;

    private static final Set<String> ANCHORS = OpKinds.ANCHORS;

    private static final Set<String> ELEMENTWISE = OpKinds.ELEMENTWISE;

    /** Ops that keep the elements and their order and only change the shape. */
    private static final Set<String> RESHAPES = OpKinds.RESHAPES;

    /** Whether {@code n} is a group made by this pass. */
    public static boolean isFused(Node n) {
        return n.domain().equals(DOMAIN) && n.op().equals(OP);
    }

    /** The group of a fused node, as a graph. */
    public static Graph body(Node fused) {
        if (!(fused.attrs().get(BODY) instanceof Attr.GraphAttr(Graph body))) throw fused.error("has no body graph");
        return body;
    }

    /** Forms the groups; returns how many fused nodes replaced them. */
    public static int run(Graph g) {
        List<Node> nodes = g.nodes();
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) for (String o : nodes.get(i).outputs()) if (!o.isEmpty()) producer.put(o, i);
        Map<String, List<Node>> consumers = g.consumers();
        Set<String> graphOutputs = new HashSet<>(g.outputs());

        boolean[] taken = new boolean[nodes.size()];
        Map<Integer, List<Integer>> groupEndingAt = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (taken[i]) continue;
            taken[i] = true;
            Node start = nodes.get(i);
            boolean anchor = isOnnx(start) ? ANCHORS.contains(start.op()) || ELEMENTWISE.contains(start.op()) : Blocked.inner(start) != null;
            if (!(anchor && singleOutput(start))) continue;
            List<Integer> committed = List.of(i);
            Set<Integer> group = new LinkedHashSet<>(committed);
            Set<String> produced = new HashSet<>(List.of(start.output(0)));
            for (int j = i + 1; j < nodes.size() && j <= committed.getLast() + WINDOW; j++) {
                Node m = nodes.get(j);
                if (m.inputs().stream().noneMatch(produced::contains)) continue;
                if (taken[j] || !absorbable(m, g, produced) || !sameGuards(g, start, m)) break;
                group.add(j);
                produced.add(m.output(0));
                if (closed(group, nodes, consumers, graphOutputs, m)) committed = List.copyOf(group);
            }
            for (int k : committed) taken[k] = true;
            if (committed.size() > 1) groupEndingAt.put(committed.getLast(), committed);
        }
        if (groupEndingAt.isEmpty()) return 0;

        Set<Integer> inGroup = new HashSet<>();
        groupEndingAt.values().forEach(inGroup::addAll);
        List<Node> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            List<Integer> grp = groupEndingAt.get(i);
            if (grp != null) out.add(fuse(g, grp.stream().map(nodes::get).toList()));
            else if (!inGroup.contains(i)) out.add(nodes.get(i));
        }
        g.setNodes(out);
        return groupEndingAt.size();
    }

    /** Whether two nodes run under the same branch guards ({@link Graph#guards}), so that one kernel may hold both. */
    private static boolean sameGuards(Graph g, Node a, Node b) {
        return g.guards().getOrDefault(a.output(0), List.of()).equals(g.guards().getOrDefault(b.output(0), List.of()));
    }

    private static boolean isOnnx(Node n) {
        return OpRegistry.isOnnxDomain(n.domain());
    }

    private static boolean singleOutput(Node n) {
        for (int i = 1; i < n.outputs().size(); i++) if (!n.output(i).isEmpty()) return false;
        return !n.outputs().isEmpty() && !n.output(0).isEmpty();
    }

    /**
     * An elementwise op whose every group-produced input has its output's shape, or a reshape of
     * a group value (the same elements in the same order: the group writes them under the new shape).
     */
    private static boolean absorbable(Node m, Graph g, Set<String> produced) {
        if (!isOnnx(m) || !singleOutput(m)) return false;
        long[] out = dims(g, m.output(0));
        if (RESHAPES.contains(m.op())) {
            if (!produced.contains(m.input(0)) || g.value(m.input(0)).shape().numel() != g.value(m.output(0)).shape().numel()) return false;
            return m.inputs().stream().skip(1).noneMatch(produced::contains);
        }
        if (!ELEMENTWISE.contains(m.op())) return false;
        for (String in : m.inputs()) if (produced.contains(in) && !Arrays.equals(dims(g, in), out)) return false;
        return true;
    }

    /** Whether every value of the group except {@code last}'s output is read only inside it and is not a graph output. */
    private static boolean closed(Set<Integer> group, List<Node> nodes, Map<String, List<Node>> consumers, Set<String> graphOutputs,
                                  Node last) {
        Set<Node> members = new HashSet<>();
        for (int k : group) members.add(nodes.get(k));
        for (Node n : members) {
            String v = n.output(0);
            if (n == last) continue;
            if (graphOutputs.contains(v)) return false;
            for (Node c : consumers.getOrDefault(v, List.of())) if (!members.contains(c)) return false;
        }
        return true;
    }

    private static long[] dims(Graph g, String value) {
        return g.value(value).shape().longDims();
    }

    /** The fused node of a group: its body holds the group's nodes, inputs, constants and value types. */
    private static Node fuse(Graph g, List<Node> group) {
        Set<String> produced = new HashSet<>();
        Set<String> external = new LinkedHashSet<>();
        for (Node n : group) {
            for (String in : n.inputs()) if (!in.isEmpty() && !produced.contains(in)) external.add(in);
            produced.add(n.output(0));
        }
        String result = group.getLast().output(0);
        Graph body = new Graph(String.join("+", group.stream().map(Node::op).toList()));
        body.opsets().putAll(g.opsets());
        for (String in : external) {
            if (g.isConstant(in)) body.initializers().put(in, g.initializers().get(in));
            else body.inputs().add(g.value(in));
        }
        for (String v : external) if (!g.isConstant(v)) body.values().put(v, g.value(v));
        for (String v : produced) {
            Value t = g.value(v);
            body.values().put(v, t);
        }
        body.setNodes(group);
        body.outputs().add(result);
        Node anchor = group.getFirst();
        return new Node(anchor.name(), OP, DOMAIN, List.copyOf(external), List.of(result),
                Map.of(BODY, new Attr.GraphAttr(body)), 1);
    }
}
