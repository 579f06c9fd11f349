package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Computes an fp16 or bfloat16 model in fp32, with ONNX Runtime's roundings kept: every op that
 * computes a 16-bit value is followed by a round trip through the 16-bit type (Cast to it and
 * back), so each op's result is rounded at its output as before, while the graph between runs on
 * the fp32 kernels (blocked layouts, fused epilogues, which 16-bit values do not get). Weights
 * become fp32 (exactly); 16-bit graph inputs are widened on entry and outputs narrowed on exit.
 * Ops that only move or pick values (Reshape, Transpose, Gather, MaxPool, Relu, ...) need no
 * rounding. Without {@code round} it gives the plain fp32 computation of the model (a reference
 * for how far 16-bit rounding moves the results).
 */
public final class WidenHalf {
    private WidenHalf() {}

    /** Ops whose 16-bit output is one of their 16-bit inputs' values: rounding them again changes nothing. */
    private static final Set<String> EXACT = Set.of("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Gather",
            "GatherElements", "GatherND", "Slice", "Concat", "Split", "Expand", "Tile", "Pad", "MaxPool", "GlobalMaxPool", "Relu",
            "Max", "Min", "Where", "Neg", "Abs", "DepthToSpace", "SpaceToDepth", "ReduceMax", "ReduceMin", "TopK", "ScatterND",
            "ScatterElements", "Compress", "ReverseSequence", "Trilu");

    /** Ops with a dtype in an attribute or a typed constant, which this pass does not rewrite: a model with one is left alone. */
    private static final Set<String> TYPED = Set.of("EyeLike", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
            "Multinomial", "Bernoulli", "Constant", "QuantizeLinear", "DequantizeLinear");

    /** Rewrites the graph; returns how many 16-bit values it widened (0: nothing to do, or a model it leaves as it is). */
    public static int run(Graph g, boolean round) {
        Map<String, DType> narrow = new HashMap<>();
        for (Value v : g.values().values()) if (isHalf(v.dtype())) narrow.put(v.name(), v.dtype());
        for (Value v : g.inputs()) if (isHalf(v.dtype())) narrow.put(v.name(), v.dtype());
        for (var e : g.initializers().entrySet()) if (isHalf(e.getValue().dtype())) narrow.put(e.getKey(), e.getValue().dtype());
        if (narrow.isEmpty()) return 0;
        for (Node n : g.nodes())
            if (!OpRegistry.isOnnxDomain(n.domain()) || TYPED.contains(n.op()) || hasGraph(n)) return 0;

        for (var e : g.initializers().entrySet())
            if (isHalf(e.getValue().dtype())) e.setValue(Tensor.of(DType.FLOAT32, e.getValue().shape(), e.getValue().floats()));
        Map<String, String> rename = new HashMap<>();
        List<Node> out = new ArrayList<>();
        for (Value v : g.inputs()) {
            if (!isHalf(v.dtype())) continue;
            String wide = Rewrites.fresh(g, v.name() + "__f32");
            rename.put(v.name(), wide);
            out.add(cast(v.name(), wide, DType.FLOAT32));
        }
        Set<String> graphOutputs = Set.copyOf(g.outputs());
        for (Node n : g.nodes()) {
            List<String> ins = n.inputs().stream().map(i -> rename.getOrDefault(i, i)).toList();
            if (n.op().equals("Cast") || n.op().equals("CastLike")) {
                DType to = n.op().equals("Cast") ? DType.fromOnnx((int) n.attrInt("to", 1)) : narrow.getOrDefault(n.input(1),
                        g.isConstant(n.input(1)) ? g.initializers().get(n.input(1)).dtype() : g.value(n.input(1)).dtype());
                if (isHalf(to)) {
                    // A conversion to 16 bits rounds, and the value goes on in fp32.
                    String rounded = Rewrites.fresh(g, n.output(0) + "__rounded");
                    out.add(cast(ins.get(0), rounded, to));
                    String wide = wide(g, n.output(0), graphOutputs, rename);
                    out.add(cast(rounded, wide, DType.FLOAT32));
                    narrowOutput(n.output(0), wide, to, graphOutputs, out);
                    continue;
                }
                if (n.op().equals("CastLike")) {
                    out.add(cast(ins.get(0), n.output(0), to));
                    continue;
                }
            }
            List<String> outs = new ArrayList<>();
            List<Rounding> roundings = new ArrayList<>();
            for (String o : n.outputs()) {
                DType t = narrow.get(o);
                if (o.isEmpty() || t == null) {
                    outs.add(o);
                    continue;
                }
                String wide = wide(g, o, graphOutputs, rename);
                String raw = round && !EXACT.contains(n.op()) ? Rewrites.fresh(g, o + "__f32raw") : null;
                outs.add(raw != null ? raw : wide);
                roundings.add(new Rounding(raw, wide, o, t));
            }
            out.add(new Node(n.name(), n.op(), n.domain(), ins, outs, n.attrs(), n.opset()));
            for (Rounding r : roundings) {
                if (r.raw != null) {
                    String rounded = Rewrites.fresh(g, r.original + "__rounded");
                    out.add(cast(r.raw, rounded, r.type));
                    out.add(cast(rounded, r.wide, DType.FLOAT32));
                }
                narrowOutput(r.original, r.wide, r.type, graphOutputs, out);
            }
        }
        g.setNodes(out); // the values' types follow from shape inference, which the caller runs next
        return narrow.size();
    }

    /** The fp32 name of 16-bit value {@code o}: its own, unless it is a graph output (which stays 16-bit). */
    private static String wide(Graph g, String o, Set<String> graphOutputs, Map<String, String> rename) {
        String wide = graphOutputs.contains(o) ? Rewrites.fresh(g, o + "__f32") : o;
        rename.put(o, wide);
        return wide;
    }

    /** A 16-bit value computed in fp32: {@code raw} the op's result (null: none to round), {@code wide} its rounded fp32 copy. */
    private record Rounding(String raw, String wide, String original, DType type) {}

    /** A graph output keeps its 16-bit type: the fp32 value narrowed into it (exact after the rounding). */
    private static void narrowOutput(String o, String wide, DType t, Set<String> graphOutputs, List<Node> out) {
        if (graphOutputs.contains(o) && !wide.equals(o)) out.add(cast(wide, o, t));
    }

    /** A Cast, named after the value it makes (unique, so are the kernels named after it). */
    private static Node cast(String in, String out, DType to) {
        return new Node(out + "/cast", "Cast", "", List.of(in), List.of(out), Map.of("to", new Attr.Int(to.onnxCode)), Rewrites.OPSET);
    }

    private static boolean isHalf(DType t) {
        return t == DType.FLOAT16 || t == DType.BFLOAT16;
    }

    private static boolean hasGraph(Node n) {
        return n.attrs().values().stream().anyMatch(a -> a instanceof Attr.GraphAttr);
    }
}
