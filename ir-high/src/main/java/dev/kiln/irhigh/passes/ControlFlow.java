package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Expands control flow whose course is known at compile time into plain nodes, in the order
 * the graph runs, with shape inference walking along (so a condition or trip count may come
 * from constants, {@code --input-value} bindings, static shapes, or earlier expansions):
 * <ul>
 *   <li>{@code If} with a known condition becomes the branch it takes; one whose condition is
 *       known only at run time computes both branches and selects each output with a Where
 *       ({@link #selectIf}); each branch's values carry its guard ({@link Graph#guards}), so
 *       the executor runs only the branch taken;</li>
 *   <li>{@code Loop} with a known trip count, whose condition stays known from one iteration to
 *       the next, becomes that many copies of its body (loop-carried values threaded through,
 *       scan outputs stacked by Unsqueeze and Concat); with a condition known only at run time,
 *       as many guarded copies, each running only while the loop does ({@link #guardedLoop});</li>
 *   <li>{@code Scan} becomes one copy of its body per element of the scanned axis (each element
 *       taken by a Gather), in either direction, outputs stacked on their axes; opset 8's batch
 *       axis first becomes one Scan per batch element ({@link #batchScan}).</li>
 * </ul>
 * A body's nodes join the graph under names prefixed by the node's; its initializers are added
 * once; nested control flow is expanded in turn. A node whose course depends on run-time values
 * stays, and shape inference refuses it with the reason. Unrolled copies are limited to
 * {@link #MAX_COPIES} per loop: a loop over the body's kernels at run time is future work.
 */
public final class ControlFlow {
    private ControlFlow() {}

    /** The most body copies one Loop or Scan may unroll into. */
    public static final int MAX_COPIES = 4096;

    /** Expands every If, Loop and Scan whose course is known, nested ones too; returns how many. */
    public static int run(Graph g) {
        int total = 0;
        List<Select> selects = new ArrayList<>();
        while (true) {
            g.sortTopologically();
            List<Node> nodes = g.nodes();
            int at = 0;
            while (at < nodes.size() && !isControlFlow(nodes.get(at))) at++;
            if (at == nodes.size()) {
                checkSelects(g, selects);
                return total;
            }
            ShapeInference.Walk walk = new ShapeInference.Walk(g, new HashMap<>());
            for (int i = 0; i < at; i++) walk.visit(nodes.get(i));
            Node n = nodes.get(at);
            List<Node> r = switch (n.op()) {
                case "If" -> inlineIf(n, g, walk, selects);
                case "Loop" -> unrollLoop(n, g, walk);
                default -> unrollScan(n, g, walk);
            };
            if (r == null) return total; // stays: shape inference says why
            // What replaces a node inside a run-time branch inherits the branch's guards.
            List<Graph.Guard> outer = guards(g, n);
            if (!outer.isEmpty())
                for (Node m : r) for (String o : m.outputs()) if (!o.isEmpty()) g.guards().putIfAbsent(o, outer);
            List<Node> out = new ArrayList<>(nodes.subList(0, at));
            out.addAll(r);
            out.addAll(nodes.subList(at + 1, nodes.size()));
            g.setNodes(out);
            total++;
        }
    }

    /** The guards of the branch {@code n} lies in (none outside run-time branches). */
    private static List<Graph.Guard> guards(Graph g, Node n) {
        for (String o : n.outputs()) if (!o.isEmpty() && g.guards().containsKey(o)) return g.guards().get(o);
        return List.of();
    }

    /** Marks every value {@code nodes} compute as needed only when {@code cond} is {@code when}, inside {@code n}'s own guards. */
    private static void guard(Graph g, Node n, String cond, List<Node> nodes, boolean when) {
        List<Graph.Guard> list = new ArrayList<>(guards(g, n));
        list.add(new Graph.Guard(cond, when));
        for (Node m : nodes) for (String o : m.outputs()) if (!o.isEmpty()) g.guards().put(o, List.copyOf(list));
    }

    private static boolean isControlFlow(Node n) {
        return OpRegistry.isOnnxDomain(n.domain()) && (n.op().equals("If") || n.op().equals("Loop") || n.op().equals("Scan"));
    }

    private static Graph body(Node n, String attr) {
        if (!(n.attrs().get(attr) instanceof Attr.GraphAttr(Graph b))) throw n.error("has no graph attribute '" + attr + "'; the model is malformed");
        return b;
    }

    private static String base(Node n) {
        return n.name().isEmpty() ? n.op().toLowerCase() : n.name();
    }

    // ---- If ---------------------------------------------------------------------------------

    private static List<Node> inlineIf(Node n, Graph g, ShapeInference.Walk walk, List<Select> selects) {
        Tensor cond = walk.known(n.input(0));
        if (cond == null) return selectIf(n, g, walk, selects);
        if (cond.size() != 1) throw n.error("has a condition with " + cond.size() + " elements; If takes a single bool");
        boolean taken = cond.getDouble(0) != 0;
        Graph branch = body(n, taken ? "then_branch" : "else_branch");
        if (branch.outputs().size() != n.outputs().size())
            throw n.error("has " + n.outputs().size() + " outputs but its " + (taken ? "then" : "else") + " branch has " + branch.outputs().size());
        Copy copy = new Copy(g, base(n) + "/" + (taken ? "then" : "else") + "/", shared(g, branch, base(n) + "/", walk));
        List<Node> out = copy.nodes(branch, walk);
        for (int i = 0; i < n.outputs().size(); i++)
            if (!n.output(i).isEmpty()) out.add(identity(base(n) + "/output" + i, copy.name(branch.outputs().get(i)), n.output(i)));
        return out;
    }

    /**
     * An If whose condition is known only at run time: both branches, each output chosen by a
     * Where on the condition. Exact, since ONNX branches have no side effects (whatever the
     * untaken branch holds is never selected). The branches' values carry the guards that let
     * the CPU executor skip the untaken branch's kernels; a GPU library computes both. Needs
     * both branches to give each output the same static type.
     */
    /** One output of an If decided at run time: the Where that picks it, and the two branches' values it picks from. */
    private record Select(Node node, int output, String then, String otherwise) {}

    /**
     * Both branches must give each output one static type (the Where would broadcast otherwise).
     * Checked when every If is expanded: a branch output that nested control flow computes has
     * no type before.
     */
    private static void checkSelects(Graph g, List<Select> selects) {
        if (selects.isEmpty()) return;
        Map<String, Select> byOutput = new HashMap<>();
        for (Select s : selects) byOutput.put(s.node.output(s.output), s);
        ShapeInference.Walk walk = new ShapeInference.Walk(g, new HashMap<>());
        for (Node m : g.nodes()) {
            Select s = byOutput.get(m.output(0));
            if (s != null) {
                Value vx = walk.value(s.then), vy = walk.value(s.otherwise);
                if (vx.dtype() != vy.dtype() || !vx.shape().equals(vy.shape()))
                    throw s.node.error("has a condition known only at run time and branches that give output " + s.output
                            + " different types (" + vx.dtype().numpyName + vx.shape() + " and " + vy.dtype().numpyName + vy.shape()
                            + "); Kiln computes both branches and selects, which needs one static type");
            }
            walk.visit(m);
        }
    }

    private static List<Node> selectIf(Node n, Graph g, ShapeInference.Walk walk, List<Select> selects) {
        Graph then = body(n, "then_branch"), otherwise = body(n, "else_branch");
        if (then.outputs().size() != n.outputs().size() || otherwise.outputs().size() != n.outputs().size())
            throw n.error("has " + n.outputs().size() + " outputs but its branches have " + then.outputs().size() + " and " + otherwise.outputs().size());
        Value c = walk.value(n.input(0));
        if (c == null || c.shape() == null || c.shape().numel() != 1) return null;
        Copy a = new Copy(g, base(n) + "/then/", shared(g, then, base(n) + "/then/", walk));
        Copy b = new Copy(g, base(n) + "/else/", shared(g, otherwise, base(n) + "/else/", walk));
        // The condition as a scalar, before the branches: the Wheres read it, and it is what the
        // executor tests before each guarded kernel.
        String scalar = Rewrites.fresh(g, base(n) + "/cond_scalar");
        Node reshape = new Node(base(n) + "/cond_scalar", "Reshape", "", List.of(n.input(0),
                constant(g, walk, base(n) + "/scalar_shape", Rewrites.longs(new long[0]))), List.of(scalar), Map.of(), Rewrites.OPSET);
        walk.visit(reshape);
        List<Node> thenNodes = a.nodes(then, walk), elseNodes = b.nodes(otherwise, walk);
        List<Node> out = new ArrayList<>(List.of(reshape));
        out.addAll(thenNodes);
        out.addAll(elseNodes);
        for (int i = 0; i < n.outputs().size(); i++) {
            if (n.output(i).isEmpty()) continue;
            String x = a.name(then.outputs().get(i)), y = b.name(otherwise.outputs().get(i));
            selects.add(new Select(n, i, x, y));
            out.add(new Node(base(n) + "/select" + i, "Where", "", List.of(scalar, x, y), List.of(n.output(i)), Map.of(), Rewrites.OPSET));
        }
        guard(g, n, scalar, thenNodes, true);
        guard(g, n, scalar, elseNodes, false);
        return out;
    }

    // ---- Loop -------------------------------------------------------------------------------

    private static List<Node> unrollLoop(Node n, Graph g, ShapeInference.Walk walk) {
        Graph body = body(n, "body");
        int carried = n.inputs().size() - 2;
        if (carried < 0) throw n.error("has " + n.inputs().size() + " inputs; Loop takes M, cond and the loop-carried values");
        if (body.inputs().size() != carried + 2 || body.outputs().size() < carried + 1)
            throw n.error("has a body with " + body.inputs().size() + " inputs and " + body.outputs().size() + " outputs for "
                    + carried + " loop-carried values; the model is malformed");
        int scans = body.outputs().size() - 1 - carried;
        Tensor m = n.hasInput(0) ? walk.known(n.input(0)) : null;
        if (n.hasInput(0) && m == null) return null;
        long trips = m != null ? m.getLong(0) : Long.MAX_VALUE;
        Boolean cond = n.hasInput(1) ? known(walk, n.input(1)) : Boolean.TRUE;
        if (cond == null) return guardedLoop(n, g, walk, trips);
        String prefix = base(n) + "/";
        Map<String, String> shared = shared(g, body, prefix, walk);
        List<String> values = new ArrayList<>(n.inputs().subList(2, n.inputs().size()));
        List<List<String>> scanned = new ArrayList<>();
        for (int s = 0; s < scans; s++) scanned.add(new ArrayList<>());
        List<Node> out = new ArrayList<>();
        for (long k = 0; k < trips && cond; k++) {
            if (k >= MAX_COPIES)
                throw n.error("runs more than " + MAX_COPIES + " iterations; Kiln unrolls a Loop whose trip count is known at compile time, up to "
                        + MAX_COPIES + " iterations");
            Copy copy = new Copy(g, prefix + "iter" + k + "/", shared);
            copy.bind(body.inputs().get(0).name(), constant(g, walk, prefix + "iter" + k + "/i", Tensor.ofLongs(Shape.SCALAR, k)));
            copy.bind(body.inputs().get(1).name(), constant(g, walk, prefix + "iter" + k + "/cond",
                    Tensor.of(DType.BOOL, Shape.SCALAR, new long[] {1})));
            for (int j = 0; j < carried; j++) copy.bind(body.inputs().get(j + 2).name(), values.get(j));
            out.addAll(copy.nodes(body, walk));
            cond = known(walk, copy.name(body.outputs().getFirst()));
            if (cond == null) return guardedLoop(n, g, walk, trips); // the condition depends on run-time values
            for (int j = 0; j < carried; j++) values.set(j, copy.name(body.outputs().get(j + 1)));
            for (int s = 0; s < scans; s++) scanned.get(s).add(copy.name(body.outputs().get(1 + carried + s)));
        }
        for (int j = 0; j < carried; j++)
            if (j < n.outputs().size() && !n.output(j).isEmpty()) out.add(identity(prefix + "final" + j, values.get(j), n.output(j)));
        for (int s = 0; s < scans; s++) {
            int o = carried + s;
            if (o >= n.outputs().size() || n.output(o).isEmpty()) continue;
            if (scanned.get(s).isEmpty()) throw n.error("runs no iteration, so the shape of its scan output '" + n.output(o) + "' is unknown");
            out.addAll(stack(g, prefix + "scan" + s, scanned.get(s), 0, n.output(o)));
        }
        return out;
    }

    /**
     * A Loop whose condition is only known at run time, with a trip count known at compile time
     * (the most iterations it can run): that many copies of the body, copy k guarded by
     * {@code active_k} (the loop still runs at iteration k: the condition held before each
     * earlier iteration and after it), so the CPU executor runs only the iterations the data asks
     * for; each loop-carried value goes on as {@code Where(active_k, body's new value, old value)}.
     * Null (the Loop stays, and shape inference refuses it naming the inputs to bind with
     * {@code --input-value}) without a trip count, beyond {@link #MAX_COPIES} iterations, with a
     * scan output (whose length the data would decide) or with control flow in the body.
     */
    private static List<Node> guardedLoop(Node n, Graph g, ShapeInference.Walk walk, long trips) {
        Graph body = body(n, "body");
        int carried = n.inputs().size() - 2, scans = body.outputs().size() - 1 - carried;
        if (trips == Long.MAX_VALUE || trips > MAX_COPIES) return null;
        for (int s = 0; s < scans; s++)
            if (carried + s < n.outputs().size() && !n.output(carried + s).isEmpty()) return null;
        if (body.nodes().stream().anyMatch(ControlFlow::isControlFlow)) return null;
        String prefix = base(n) + "/";
        Map<String, String> shared = shared(g, body, prefix, walk);
        List<Node> out = new ArrayList<>();
        java.util.function.BiFunction<String, String, String> scalar = (name, value) -> {
            String r = Rewrites.fresh(g, name);
            Node reshape = new Node(name, "Reshape", "", List.of(value,
                    constant(g, walk, name + "_shape", Rewrites.longs(new long[0]))), List.of(r), Map.of(), Rewrites.OPSET);
            walk.visit(reshape);
            out.add(reshape);
            return r;
        };
        String active = n.hasInput(1) ? scalar.apply(prefix + "active0", n.input(1))
                : constant(g, walk, prefix + "active0", Tensor.of(DType.BOOL, Shape.SCALAR, new long[] {1}));
        List<String> values = new ArrayList<>(n.inputs().subList(2, n.inputs().size()));
        for (long k = 0; k < trips; k++) {
            String iter = prefix + "iter" + k + "/";
            Copy copy = new Copy(g, iter, shared);
            copy.bind(body.inputs().get(0).name(), constant(g, walk, iter + "i", Tensor.ofLongs(Shape.SCALAR, k)));
            copy.bind(body.inputs().get(1).name(), active);
            for (int j = 0; j < carried; j++) copy.bind(body.inputs().get(j + 2).name(), values.get(j));
            List<Node> nodes = copy.nodes(body, walk);
            out.addAll(nodes);
            guard(g, n, active, nodes, true);
            for (int j = 0; j < carried; j++) {
                String next = copy.name(body.outputs().get(j + 1)), kept = values.get(j);
                Value vn = walk.value(next), vk = walk.value(kept);
                if (vn.dtype() != vk.dtype() || !vn.shape().equals(vk.shape()))
                    throw n.error("changes loop-carried value " + j + " from " + vk.dtype().numpyName + vk.shape() + " to "
                            + vn.dtype().numpyName + vn.shape() + "; with a condition known only at run time Kiln needs one static type");
                String sel = Rewrites.fresh(g, iter + "carried" + j);
                Node where = new Node(iter + "carry" + j, "Where", "", List.of(active, next, kept), List.of(sel), Map.of(), Rewrites.OPSET);
                walk.visit(where);
                out.add(where);
                values.set(j, sel);
            }
            String still = scalar.apply(iter + "cond_out", copy.name(body.outputs().getFirst()));
            String nextActive = Rewrites.fresh(g, iter + "active");
            Node and = new Node(iter + "active", "And", "", List.of(active, still), List.of(nextActive), Map.of(), Rewrites.OPSET);
            walk.visit(and);
            out.add(and);
            active = nextActive;
        }
        for (int j = 0; j < carried; j++)
            if (j < n.outputs().size() && !n.output(j).isEmpty()) out.add(identity(prefix + "final" + j, values.get(j), n.output(j)));
        return out;
    }

    private static Boolean known(ShapeInference.Walk walk, String name) {
        Tensor t = walk.known(name);
        return t == null ? null : t.getDouble(0) != 0;
    }

    // ---- Scan -------------------------------------------------------------------------------

    /**
     * A Scan of opset 8 (a batch axis first on every state and scan input, and an optional
     * sequence_lens) becomes one Scan of opset 9 per batch element, on that element's slices,
     * its results stacked back along the batch axis; a later round unrolls each. sequence_lens
     * must be absent, or a constant giving every element the full length.
     */
    private static List<Node> batchScan(Node n, Graph g, ShapeInference.Walk walk) {
        Graph body = body(n, "body");
        int scanIn = (int) n.attrInt("num_scan_inputs", -1);
        int states = n.inputs().size() - 1 - scanIn;
        if (scanIn < 1 || states < 0) throw n.error("has num_scan_inputs " + scanIn + " for " + n.inputs().size() + " inputs");
        Value first = walk.value(n.input(1));
        if (first == null || first.shape() == null || first.shape().rank() < 1) return null;
        int batch = first.shape().dim(0);
        if (n.hasInput(0)) {
            Tensor lens = walk.known(n.input(0));
            Value seq = walk.value(n.input(1 + states));
            if (lens == null || seq == null)
                throw n.error("input 0 ('" + n.input(0) + "') must be a compile-time constant: Kiln unrolls each sequence to its length");
            for (int b = 0; b < lens.size(); b++)
                if (lens.getLong(b) != seq.shape().dim(1))
                    throw n.error("has sequence_lens " + lens.getLong(b) + " for batch element " + b + " of a sequence of "
                            + seq.shape().dim(1) + "; Kiln unrolls Scan over whole sequences only");
        }
        String prefix = base(n) + "/";
        List<Node> out = new ArrayList<>();
        List<List<String>> results = new ArrayList<>();
        for (int k = 0; k < n.outputs().size(); k++) results.add(new ArrayList<>());
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("body", n.attrs().get("body"));
        attrs.put("num_scan_inputs", new Attr.Int(scanIn));
        if (n.has("directions")) attrs.put("scan_input_directions", new Attr.Ints(n.attrInts("directions", null)));
        for (int b = 0; b < batch; b++) {
            String index = constant(g, walk, prefix + "batch" + b, Tensor.ofLongs(Shape.SCALAR, b));
            List<String> ins = new ArrayList<>();
            for (int i = 1; i < n.inputs().size(); i++) {
                String slice = Rewrites.fresh(g, prefix + "batch" + b + "_in" + i);
                Node gather = new Node(prefix + "batch" + b + "/gather" + i, "Gather", "", List.of(n.input(i), index), List.of(slice),
                        Map.of("axis", new Attr.Int(0)), Rewrites.OPSET);
                walk.visit(gather);
                out.add(gather);
                ins.add(slice);
            }
            List<String> outs = new ArrayList<>();
            for (int k = 0; k < n.outputs().size(); k++) {
                String part = n.output(k).isEmpty() ? "" : Rewrites.fresh(g, prefix + "batch" + b + "_out" + k);
                outs.add(part);
                results.get(k).add(part);
            }
            out.add(new Node(prefix + "batch" + b, "Scan", "", ins, outs, attrs, Math.max(n.opset(), 9)));
        }
        for (int k = 0; k < n.outputs().size(); k++)
            if (!n.output(k).isEmpty()) out.addAll(stack(g, prefix + "stack" + k, results.get(k), 0, n.output(k)));
        return out;
    }

    private static List<Node> unrollScan(Node n, Graph g, ShapeInference.Walk walk) {
        if (n.opset() < 9) return batchScan(n, g, walk);
        Graph body = body(n, "body");
        int scanIn = (int) n.attrInt("num_scan_inputs", -1);
        int states = n.inputs().size() - scanIn;
        if (scanIn < 1 || states < 0) throw n.error("has num_scan_inputs " + scanIn + " for " + n.inputs().size() + " inputs");
        int scanOut = body.outputs().size() - states;
        long[] inAxes = n.attrInts("scan_input_axes", new long[scanIn]), inDirs = n.attrInts("scan_input_directions", new long[scanIn]);
        long[] outAxes = n.attrInts("scan_output_axes", new long[scanOut]), outDirs = n.attrInts("scan_output_directions", new long[scanOut]);
        long length = -1;
        int[] axes = new int[scanIn];
        for (int j = 0; j < scanIn; j++) {
            Value v = walk.value(n.input(states + j));
            if (v == null || v.shape() == null) return null;
            int rank = v.shape().rank();
            axes[j] = (int) (inAxes[j] < 0 ? inAxes[j] + rank : inAxes[j]);
            if (axes[j] < 0 || axes[j] >= rank) throw n.error("has scan input axis " + inAxes[j] + " for a rank-" + rank + " input");
            long len = v.shape().dim(axes[j]);
            if (length >= 0 && len != length) throw n.error("scans inputs of different lengths (" + length + " and " + len + ")");
            length = len;
        }
        if (length > MAX_COPIES) throw n.error("scans " + length + " elements; Kiln unrolls a Scan up to " + MAX_COPIES);
        String prefix = base(n) + "/";
        Map<String, String> shared = shared(g, body, prefix, walk);
        List<String> values = new ArrayList<>(n.inputs().subList(0, states));
        List<List<String>> scanned = new ArrayList<>();
        for (int s = 0; s < scanOut; s++) scanned.add(new ArrayList<>());
        List<Node> out = new ArrayList<>();
        for (long t = 0; t < length; t++) {
            String step = prefix + "step" + t + "/";
            Copy copy = new Copy(g, step, shared);
            for (int j = 0; j < states; j++) copy.bind(body.inputs().get(j).name(), values.get(j));
            for (int j = 0; j < scanIn; j++) {
                long index = inDirs[j] == 0 ? t : length - 1 - t;
                String idx = constant(g, walk, step + "index" + j, Tensor.ofLongs(Shape.SCALAR, index));
                String elem = Rewrites.fresh(g, step + "element" + j);
                Node gather = new Node(step + "take" + j, "Gather", "", List.of(n.input(states + j), idx), List.of(elem),
                        Map.of("axis", new Attr.Int(axes[j])), Rewrites.OPSET);
                walk.visit(gather);
                out.add(gather);
                copy.bind(body.inputs().get(states + j).name(), elem);
            }
            out.addAll(copy.nodes(body, walk));
            for (int j = 0; j < states; j++) values.set(j, copy.name(body.outputs().get(j)));
            for (int s = 0; s < scanOut; s++) scanned.get(s).add(copy.name(body.outputs().get(states + s)));
        }
        for (int j = 0; j < states; j++)
            if (j < n.outputs().size() && !n.output(j).isEmpty()) out.add(identity(prefix + "final" + j, values.get(j), n.output(j)));
        for (int s = 0; s < scanOut; s++) {
            int o = states + s;
            if (o >= n.outputs().size() || n.output(o).isEmpty()) continue;
            if (scanned.get(s).isEmpty()) throw n.error("scans no element, so the shape of its output '" + n.output(o) + "' is unknown");
            List<String> parts = new ArrayList<>(scanned.get(s));
            if (outDirs[s] != 0) java.util.Collections.reverse(parts);
            Value first = walk.value(parts.getFirst());
            if (first == null) return null; // behind nested control flow: expanded first, this Scan in a later round
            int rank = first.shape().rank() + 1;
            int axis = (int) (outAxes[s] < 0 ? outAxes[s] + rank : outAxes[s]);
            out.addAll(stack(g, prefix + "scan" + s, parts, axis, n.output(o)));
        }
        return out;
    }

    // ---- shared pieces ----------------------------------------------------------------------

    /** The body's initializers added to g once, under names prefixed by {@code prefix}; returns the renaming. */
    private static Map<String, String> shared(Graph g, Graph body, String prefix, ShapeInference.Walk walk) {
        Map<String, String> r = new HashMap<>();
        for (var e : body.initializers().entrySet()) r.put(e.getKey(), constant(g, walk, prefix + e.getKey(), e.getValue()));
        return r;
    }

    private static String constant(Graph g, ShapeInference.Walk walk, String base, Tensor t) {
        String name = Rewrites.constant(g, base, t);
        walk.constant(name, t);
        return name;
    }

    private static Node identity(String name, String in, String out) {
        return new Node(name, "Identity", "", List.of(in), List.of(out), Map.of(), Rewrites.OPSET);
    }

    /** Unsqueeze each part on {@code axis} and Concat them along it into {@code out}. */
    private static List<Node> stack(Graph g, String base, List<String> parts, int axis, String out) {
        List<Node> r = new ArrayList<>();
        String axes = Rewrites.constant(g, base + "_axes", Rewrites.longs(new long[] {axis}));
        List<String> expanded = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            String e = Rewrites.fresh(g, base + "_" + i);
            r.add(new Node(base + "/unsqueeze" + i, "Unsqueeze", "", List.of(parts.get(i), axes), List.of(e), Map.of(), Rewrites.OPSET));
            expanded.add(e);
        }
        r.add(new Node(base + "/concat", "Concat", "", expanded, List.of(out), Map.of("axis", new Attr.Int(axis)), Rewrites.OPSET));
        return r;
    }

    /**
     * One copy of a body's nodes: its values renamed under a prefix, its inputs bound to outer
     * values, its initializers to the shared copies; nested graphs follow the renaming.
     */
    private static final class Copy {
        private final Graph g;
        private final String prefix;
        private final Map<String, String> rename;

        Copy(Graph g, String prefix, Map<String, String> shared) {
            this.g = g;
            this.prefix = prefix;
            this.rename = new HashMap<>(shared);
        }

        void bind(String bodyName, String outer) {
            rename.put(bodyName, outer);
        }

        String name(String bodyName) {
            return rename.getOrDefault(bodyName, bodyName);
        }

        /** The body's nodes renamed, each visited by {@code walk} (so later ones see its types and constants). */
        List<Node> nodes(Graph body, ShapeInference.Walk walk) {
            for (Node m : body.nodes())
                for (String o : m.outputs()) if (!o.isEmpty()) rename.put(o, Rewrites.fresh(g, prefix + o));
            List<Node> out = new ArrayList<>();
            // Nested control flow is expanded by a later round; the nodes before it are inferred now.
            boolean visiting = true;
            for (Node m : body.nodes()) {
                Map<String, Attr> attrs = new LinkedHashMap<>();
                for (var e : m.attrs().entrySet())
                    attrs.put(e.getKey(), e.getValue() instanceof Attr.GraphAttr(Graph sub) ? new Attr.GraphAttr(nested(sub, rename)) : e.getValue());
                Node r = new Node(prefix + m.name(), m.op(), m.domain(), names(m.inputs(), rename), names(m.outputs(), rename), attrs, m.opset());
                if (isControlFlow(r)) visiting = false;
                if (visiting) walk.visit(r);
                out.add(r);
            }
            return out;
        }
    }

    /** A nested graph whose references to renamed outer values follow the renaming (names it defines itself shadow them). */
    private static Graph nested(Graph sub, Map<String, String> rename) {
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
                attrs.put(e.getKey(), e.getValue() instanceof Attr.GraphAttr(Graph s) ? new Attr.GraphAttr(nested(s, visible)) : e.getValue());
            nodes.add(new Node(m.name(), m.op(), m.domain(), names(m.inputs(), visible), m.outputs(), attrs, m.opset()));
        }
        r.setNodes(nodes);
        return r;
    }

    private static List<String> names(List<String> names, Map<String, String> rename) {
        return names.stream().map(s -> rename.getOrDefault(s, s)).toList();
    }
}
