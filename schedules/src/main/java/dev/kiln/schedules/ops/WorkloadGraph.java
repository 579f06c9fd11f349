package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.DataDependent;
import dev.kiln.irhigh.ops.OpRegistry;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.targets.Target;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A kernel rebuilt from its {@link Workload#canonical() canonical text} alone, so that a tuning
 * record read from a file (which carries that text beside its key and config) can be checked on
 * a machine that never saw the model: the rebuilt node has the record's key, and its
 * {@link OpInventory#space config space} is the one the record's config must lie in.
 *
 * <p>The result is a one-kernel graph as the tuner's tasks have: non-constant inputs are graph
 * inputs, constants initializers (float constants zeros, integer constants the listed values, or
 * zeros when the text has too many to list), outputs graph outputs. Several op lines are one
 * {@code kiln.Fused} node, grouped by {@link FuseOps} itself. The text must print back exactly
 * ({@link Workload#of} of the rebuilt node gives it again), so a rebuild is either faithful to
 * the text or an {@link IllegalArgumentException}, whatever the text holds.
 *
 * <p>What the text does not hold is chosen: each ONNX node's opset (17, or the opset whose form its
 * inputs and attributes have, see {@link #opset}), the values of float constants (zeros, except
 * Resize's scales, which the output shape gives back), and where an op's empty optional outputs
 * sat (the text lists only the outputs that are there). Where the original differed in these,
 * the rebuilt kernel has the same key but may have another config space: the text cannot tell.
 */
public final class WorkloadGraph {
    private WorkloadGraph() {}

    /** Longest canonical text rebuilt (UTF-8 bytes): a fused group of dozens of ops is a few KiB. */
    public static final int MAX_TEXT_BYTES = 64 * 1024;

    /** Most constant elements rebuilt, all constants together (each is allocated). */
    public static final long MAX_CONSTANT_ELEMENTS = 1L << 28;

    /** The opset ONNX nodes are rebuilt at unless their form asks for another ({@link #opset}). */
    static final int ONNX_OPSET = 17;

    /**
     * A rebuilt kernel: {@code node} is the one node of {@code graph} (shape-inferred, like the
     * compiler's graphs), {@code workload} its {@link Workload} on {@code target}.
     */
    public record Rebuilt(Graph graph, Node node, Target target, Workload workload) {
        /** The kernel's config space; a kernel the templates refuse is an IllegalArgumentException saying why. */
        public ConfigSpace space() {
            try {
                return OpInventory.space(node, graph, target);
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("workload " + workload.key() + " (" + workload.description() + ") has no kernel for "
                        + target.name() + ": " + message(e), e);
            }
        }
    }

    /**
     * The kernel {@code canonical} describes. Throws IllegalArgumentException naming the line or
     * the part that could not be rebuilt: text that is not a workload's, a tensor or graph
     * attribute (the text holds only a hash or nothing of it), an unknown op or target, a
     * malformed shape, constants over {@link #MAX_CONSTANT_ELEMENTS} elements, text over
     * {@link #MAX_TEXT_BYTES}, or ops that the compiler would not group into this one kernel.
     */
    public static Rebuilt rebuild(String canonical) {
        if (canonical == null) throw new IllegalArgumentException("no workload text");
        long bytes = canonical.length() > MAX_TEXT_BYTES ? canonical.length() : canonical.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_TEXT_BYTES)
            throw new IllegalArgumentException("workload text of " + bytes + " bytes or more; at most " + MAX_TEXT_BYTES + " are rebuilt");
        WorkloadText text = WorkloadText.parse(canonical);
        Target target = target(text.target());
        Graph g;
        Node node;
        Workload w;
        try {
            g = flatGraph(text);
            ShapeInference.run(g);
            node = kernel(g);
            for (Value v : g.values().values())
                if (WorkloadText.elements(v.shape().longDims()) > WorkloadText.MAX_ELEMENTS)
                    throw new IllegalArgumentException("value " + v + " has more than " + WorkloadText.MAX_ELEMENTS + " elements");
            w = Workload.of(node, g, target);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            // Hostile text reaches shape inference and fusion with anything in it: every failure is the text's.
            throw new IllegalArgumentException("cannot rebuild the workload: " + message(e), e);
        }
        if (!w.canonical().equals(canonical)) throw new IllegalArgumentException("the workload text does not print back: " + firstDifference(canonical, w.canonical()));
        return new Rebuilt(g, node, target, w);
    }

    /**
     * The config space a record of workload {@code key} must lie in: {@code canonical} rebuilt,
     * its key checked against {@code key}. Every failure is an IllegalArgumentException.
     */
    public static ConfigSpace space(String canonical, String key) {
        Rebuilt r = rebuild(canonical);
        if (!r.workload().key().equals(key))
            throw new IllegalArgumentException("workload key " + key + " is not its text's, which is " + r.workload().key());
        return r.space();
    }

    /**
     * The target the text names. Only a name a target prints as its own: "host", "cuda" and
     * "opencl" stand for this machine's CPU or device and are never a workload's, so they are
     * refused before anything probes the machine.
     */
    private static Target target(String name) {
        if (List.of("host", "cuda", "opencl").contains(name.strip().toLowerCase(Locale.ROOT)))
            throw new IllegalArgumentException("workload text names target '" + name + "', which stands for this machine's; workloads name "
                    + "the target itself (x86_64-avx512, cuda-sm80, ...)");
        Target t;
        try {
            t = Target.parse(name);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("workload text names target '" + name + "': " + message(e), e);
        }
        if (!t.name().equals(name))
            throw new IllegalArgumentException("workload text names target '" + name + "', but workloads are keyed by the target's full name ("
                    + t.name() + " here)");
        return t;
    }

    /** The inputs, constants and nodes of the text in one graph, outputs typed as the text says; not yet inferred or fused. */
    private static Graph flatGraph(WorkloadText text) {
        Graph g = new Graph("workload");
        g.opsets().put("", ONNX_OPSET);
        long constantElements = 0;
        for (int i = 0; i < text.inputs().size(); i++) {
            WorkloadText.Input in = text.inputs().get(i);
            String name = "in" + i;
            Shape shape = Shape.of(in.shape());
            if (!in.constant()) {
                Value v = new Value(name, in.dtype(), shape);
                g.inputs().add(v);
                g.values().put(name, v);
                continue;
            }
            constantElements += shape.numel();
            if (shape.numel() > MAX_CONSTANT_ELEMENTS || constantElements > MAX_CONSTANT_ELEMENTS)
                throw new IllegalArgumentException("the workload's constants hold more than " + MAX_CONSTANT_ELEMENTS + " elements (" + name + " is "
                        + in.dtype() + shape + ")");
            g.initializers().put(name, constant(name, in, shape));
        }
        List<WorkloadText.Op> ops = text.ops();
        boolean fused = ops.size() > 1;
        if (fused && text.outputs().size() != 1)
            throw new IllegalArgumentException("a workload of " + ops.size() + " ops is a fused group with one output, not " + text.outputs().size());
        List<Node> nodes = new ArrayList<>();
        for (int k = 0; k < ops.size(); k++) {
            WorkloadText.Op op = ops.get(k);
            List<String> inputs = new ArrayList<>();
            for (String a : op.args()) inputs.add(argument(a, k, fused, text, op));
            List<String> outputs = fused ? List.of(output(k, 0)) : outputs(op, text.outputs().size());
            Node n = new Node(op.op() + "_" + k, op.op(), op.domain(), inputs, outputs, op.attrs(), opset(op));
            if (n.domain().equals(FuseOps.DOMAIN) && n.op().equals(FuseOps.OP))
                throw WorkloadText.error(op.line(), n.op(), "a fused group never holds another");
            try {
                OpRegistry.get(n);
            } catch (RuntimeException e) {
                throw WorkloadText.error(op.line(), n.describe(), "unknown op: " + message(e));
            }
            nodes.add(n);
        }
        g.setNodes(nodes);
        List<String> results = fused ? List.of(output(ops.size() - 1, 0)) : nodes.getFirst().outputs();
        for (int i = 0; i < results.size(); i++) {
            WorkloadText.Output out = text.outputs().get(i);
            g.outputs().add(results.get(i));
            g.values().put(results.get(i), new Value(results.get(i), out.dtype(), Shape.of(out.shape())));
        }
        if (!fused) resizeScales(g, nodes.getFirst());
        return g;
    }

    /** A constant input: zeros, or the listed integers. */
    private static Tensor constant(String name, WorkloadText.Input in, Shape shape) {
        boolean listed = !in.dtype().isFloat() && shape.numel() <= 64;
        if (in.values() != null && !listed)
            throw new IllegalArgumentException(name + " (" + in.dtype() + shape + ") lists values, which the text holds only for integer constants of at most 64 elements");
        if (in.values() == null && listed)
            throw new IllegalArgumentException(name + " (" + in.dtype() + shape + ") is a small integer constant whose values are missing");
        if (in.values() == null) return Tensor.zeros(in.dtype(), shape);
        if (in.values().length != shape.numel())
            throw new IllegalArgumentException(name + " (" + in.dtype() + shape + ") lists " + in.values().length + " values");
        return Tensor.of(in.dtype(), shape, in.values().clone());
    }

    /** An op line's argument as a value name: a declared input, or output 0 of an earlier op of a group. */
    private static String argument(String a, int k, boolean fused, WorkloadText text, WorkloadText.Op op) {
        if (a.isEmpty()) return a;
        if (a.startsWith("in")) {
            if (!inputNames(text).contains(a)) throw WorkloadText.error(op.line(), a, "no input " + a + " is declared");
            return a;
        }
        for (int from = 0; fused && from < k; from++) if (a.equals(output(from, 0))) return a;
        throw WorkloadText.error(op.line(), a, a + " is not the output of an earlier op of the group (ops of a group have one output)");
    }

    private static List<String> inputNames(WorkloadText text) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < text.inputs().size(); i++) r.add("in" + i);
        return r;
    }

    private static String output(int k, int j) {
        return "v" + k + "." + j;
    }

    /**
     * A lone node's outputs, one per {@code out} line: its ONNX outputs, then for an op whose
     * output lengths the data decides, the companion shape outputs {@code BoundedOutputs} added.
     */
    private static List<String> outputs(WorkloadText.Op op, int lines) {
        Node probe = new Node("", op.op(), op.domain(), List.of(), List.of(), Map.of(), ONNX_OPSET);
        if (!DataDependent.is(probe)) {
            List<String> r = new ArrayList<>();
            for (int j = 0; j < lines; j++) r.add(output(0, j));
            return r;
        }
        for (int onnx = 1; onnx < lines; onnx++) {
            List<String> r = new ArrayList<>();
            for (int j = 0; j < onnx; j++) r.add(output(0, j));
            Node n = new Node("", op.op(), op.domain(), List.of(), r, Map.of(), ONNX_OPSET);
            List<Integer> bounded = DataDependent.boundedOutputs(n);
            if (onnx + bounded.size() != lines) continue;
            for (int j : bounded) r.add(DataDependent.shapeOutput(output(0, j)));
            return r;
        }
        throw WorkloadText.error(op.line(), op.op(), lines + " outputs do not fit " + op.op() + "'s outputs and their shape outputs");
    }

    /**
     * The opset a node is rebuilt at. The text has none; where ONNX moved an attribute to an input
     * (or the reverse) the node's form says which side of the change it is on, else
     * {@link #ONNX_OPSET}. Kiln's own ops are at 1, as the passes that make them write.
     */
    static int opset(WorkloadText.Op op) {
        if (!OpRegistry.isOnnxDomain(op.domain())) return 1;
        Map<String, Attr> a = op.attrs();
        int inputs = op.args().size();
        if (a.containsKey("broadcast")) return 6;
        return switch (op.op()) {
            case "Clip" -> a.containsKey("min") || a.containsKey("max") ? 6 : ONNX_OPSET;
            case "Reshape" -> a.containsKey("shape") ? 4 : ONNX_OPSET;
            case "Slice" -> a.containsKey("starts") ? 9 : ONNX_OPSET;
            case "Pad" -> a.containsKey("pads") ? 10 : inputs > 3 ? 18 : ONNX_OPSET;
            case "Squeeze", "Unsqueeze" -> a.containsKey("axes") ? 11 : ONNX_OPSET;
            case "Split" -> a.containsKey("split") ? 11 : a.containsKey("num_outputs") ? 18 : ONNX_OPSET;
            case "ReduceSum" -> a.containsKey("axes") ? 11 : ONNX_OPSET;
            case "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
                 "ReduceLogSumExp" -> inputs > 1 ? 18 : ONNX_OPSET;
            case "BatchNormalization" -> a.containsKey("spatial") ? 7 : ONNX_OPSET;
            case "Resize" -> inputs == 2 ? 10 : ONNX_OPSET;
            case "Upsample" -> a.containsKey("scales") ? 7 : 9;
            case "DFT" -> inputs > 2 ? 20 : ONNX_OPSET;
            default -> ONNX_OPSET;
        };
    }

    /**
     * Resize's and Upsample's scales are float constants, whose values the text leaves out but
     * the kernel's taps follow: output over input extent per axis gives them back (exactly for
     * whole-number factors).
     */
    private static void resizeScales(Graph g, Node n) {
        if (!OpRegistry.isOnnxDomain(n.domain()) || !(n.op().equals("Resize") || n.op().equals("Upsample"))) return;
        int at = n.op().equals("Upsample") || n.opset() < 11 ? 1 : 2;
        Tensor scales = g.initializers().get(n.input(at));
        Value x = g.values().get(n.input(0)), y = g.values().get(n.output(0));
        if (scales == null || !scales.dtype().isFloat() || x == null || y == null || x.shape().rank() != y.shape().rank()) return;
        long[] axes = n.attrInts("axes", null);
        if (axes == null) {
            axes = new long[x.shape().rank()];
            for (int d = 0; d < axes.length; d++) axes[d] = d;
        }
        if (scales.size() != axes.length) return;
        for (int i = 0; i < axes.length; i++) {
            int d = (int) Math.floorMod(axes[i], (long) x.shape().rank());
            if (x.shape().dim(d) > 0) scales.setDouble(i, (double) y.shape().dim(d) / x.shape().dim(d));
        }
    }

    /** The one kernel node: a lone op as it is, several grouped by FuseOps exactly as the compiler groups them. */
    private static Node kernel(Graph g) {
        if (g.nodes().size() == 1) return g.nodes().getFirst();
        List<String> ops = g.nodes().stream().map(Node::op).toList();
        FuseOps.run(g);
        if (g.nodes().size() != 1 || !FuseOps.isFused(g.nodes().getFirst()) || FuseOps.body(g.nodes().getFirst()).nodes().size() != ops.size())
            throw new IllegalArgumentException("the ops " + ops + " are not one kernel: the compiler groups them as "
                    + g.nodes().stream().map(n -> FuseOps.isFused(n) ? FuseOps.body(n).nodes().stream().map(Node::op).toList().toString() : n.op()).toList());
        return g.nodes().getFirst();
    }

    private static String firstDifference(String expected, String actual) {
        String[] e = expected.split("\n", -1), a = actual.split("\n", -1);
        for (int i = 0; i < Math.max(e.length, a.length); i++) {
            String x = i < e.length ? e[i] : "(end)", y = i < a.length ? a[i] : "(end)";
            if (!x.equals(y)) return "line " + (i + 1) + " is '" + x + "' but the rebuilt kernel prints '" + y + "'";
        }
        return "the texts differ";
    }

    private static String message(RuntimeException e) {
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
