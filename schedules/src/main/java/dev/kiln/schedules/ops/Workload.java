package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.targets.Target;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The identity of a kernel for tuning: two nodes with the same ops, attributes, input and output
 * shapes and dtypes (and the same small integer constants, which steer index arithmetic) on the
 * same target are one workload, whatever their names and weight values, so a tuning record found
 * for one applies to the other.
 *
 * @param key         {@code <ops>-<16 hex digits of SHA-256 of the canonical form>}, stable across runs
 * @param description a readable summary: ops and the shapes of inputs and outputs
 * @param canonical   the text the key hashes (for debugging a mismatch)
 */
public record Workload(String key, String description, String canonical) {

    /** Integer constants up to this many elements are part of the key (shapes, axes, slice bounds). */
    private static final long SMALL_CONSTANT = 64;

    public static Workload of(Node node, Graph graph, Target target) {
        List<Node> nodes;
        Graph scope;
        if (FuseOps.isFused(node)) {
            scope = FuseOps.body(node);
            nodes = scope.nodes();
        } else {
            scope = graph;
            nodes = List.of(node);
        }
        Map<String, String> names = new HashMap<>();
        StringBuilder sb = new StringBuilder("target ").append(target.name()).append('\n');
        // External inputs in order of first use, then each node with its inputs by canonical name.
        Set<String> produced = new HashSet<>();
        for (Node n : nodes) for (String o : n.outputs()) if (!o.isEmpty()) produced.add(o);
        StringBuilder in = new StringBuilder();
        for (Node n : nodes) {
            for (String i : n.inputs()) {
                if (i.isEmpty() || produced.contains(i) || names.containsKey(i)) continue;
                String id = "in" + names.size();
                names.put(i, id);
                sb.append(id).append(' ').append(describe(i, graph, scope)).append('\n');
                if (!in.isEmpty()) in.append(", ");
                in.append(shapeOf(i, graph, scope));
            }
        }
        StringBuilder ops = new StringBuilder();
        for (int k = 0; k < nodes.size(); k++) {
            Node n = nodes.get(k);
            for (int j = 0; j < n.outputs().size(); j++) if (!n.output(j).isEmpty()) names.put(n.output(j), "v" + k + "." + j);
            sb.append(n.domain().isEmpty() ? "" : n.domain() + ".").append(n.op()).append('(');
            for (int j = 0; j < n.inputs().size(); j++) sb.append(j == 0 ? "" : ",").append(n.input(j).isEmpty() ? "_" : names.get(n.input(j)));
            sb.append(')');
            for (var a : new TreeMap<>(n.attrs()).entrySet()) sb.append(' ').append(a.getKey()).append('=').append(show(a.getValue()));
            sb.append('\n');
            if (!ops.isEmpty()) ops.append('+');
            ops.append(n.op());
        }
        StringBuilder out = new StringBuilder();
        for (String o : node.outputs()) {
            if (o.isEmpty()) continue;
            Value v = graph.value(o);
            sb.append("out ").append(v.dtype()).append(' ').append(v.shape()).append('\n');
            if (!out.isEmpty()) out.append(", ");
            out.append(shapeOf(o, graph, scope));
        }
        String canonical = sb.toString();
        String prefix = ops.toString().replaceAll("[^A-Za-z0-9+]", "");
        if (prefix.length() > 48) prefix = prefix.substring(0, 48);
        String key = prefix + "-" + sha256(canonical).substring(0, 16);
        return new Workload(key, ops + " " + in + " -> " + out, canonical);
    }

    private static String describe(String value, Graph graph, Graph scope) {
        Value v = scope.values().containsKey(value) ? scope.value(value) : graph.value(value);
        Tensor c = scope.initializers().containsKey(value) ? scope.initializers().get(value) : graph.initializers().get(value);
        String s = v.dtype() + " " + v.shape();
        if (c == null) return s;
        if (c.dtype().isFloat() || c.size() > SMALL_CONSTANT) return s + " const";
        StringBuilder sb = new StringBuilder(s).append(" const [");
        for (int i = 0; i < c.size(); i++) sb.append(i == 0 ? "" : ",").append(c.getLong(i));
        return sb.append(']').toString();
    }

    private static String shapeOf(String value, Graph graph, Graph scope) {
        Value v = scope.values().containsKey(value) ? scope.value(value) : graph.value(value);
        long[] d = v.shape().longDims();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < d.length; i++) sb.append(i == 0 ? "" : "x").append(d[i]);
        return (d.length == 0 ? "scalar" : sb.toString()) + " " + v.dtype().toString().toLowerCase(java.util.Locale.ROOT);
    }

    private static String show(Attr a) {
        return switch (a) {
            case Attr.Int(long v) -> Long.toString(v);
            case Attr.Float(float v) -> Float.toString(v);
            case Attr.Str(String v) -> '"' + v + '"';
            case Attr.Ints(long[] v) -> Arrays.toString(v);
            case Attr.Floats(float[] v) -> Arrays.toString(v);
            case Attr.Strs(List<String> v) -> v.toString();
            case Attr.TensorAttr(Tensor t) -> t + "#" + Arrays.hashCode(t.toBytes());
            case Attr.GraphAttr g -> "<graph>";
        };
    }

    private static String sha256(String s) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder();
            for (byte b : h) sb.append(String.format("%02x", b));
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
