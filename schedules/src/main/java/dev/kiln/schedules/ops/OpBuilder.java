package dev.kiln.schedules.ops;

import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Collects the tensor expressions of one node while an op family builds them: graph inputs become
 * placeholders (one per distinct value, since kernel parameters never alias), outputs become
 * computes, and every tensor and axis gets a unique, C-safe name.
 *
 * <p>Kernel buffers are flat, so a placeholder or output may be declared with any shape of the
 * right element count (a "view"): copies use one flat axis, broadcasts use merged dimensions.
 */
final class OpBuilder {
    final Node node;
    final Graph graph;
    private final Map<String, Placeholder> placeholders = new LinkedHashMap<>();
    private final List<Compute> outputs = new ArrayList<>();
    private final List<String> outputNames = new ArrayList<>();
    private final Map<String, Template> templates = new HashMap<>();
    private final Set<String> names = new HashSet<>();

    final Target target;

    OpBuilder(Node node, Graph graph, Target target) {
        this.node = node;
        this.graph = graph;
        this.target = target;
    }

    /** Output channels per block when a compute packs weights by channel blocks: the target's. */
    int channelBlock() {
        return target instanceof CpuTarget cpu ? cpu.channelBlock() : 16;
    }

    // ---- types and shapes of the node's values ----

    Value in(int i) {
        if (!node.hasInput(i)) throw node.error("missing input " + i);
        return graph.value(node.input(i));
    }

    Value out(int i) {
        return graph.value(node.output(i));
    }

    long[] inDims(int i) {
        return in(i).shape().longDims();
    }

    long[] outDims(int i) {
        return out(i).shape().longDims();
    }

    ScalarType inType(int i) {
        return scalar(in(i).dtype());
    }

    ScalarType outType(int i) {
        return scalar(out(i).dtype());
    }

    boolean hasOutput(int i) {
        return i < node.outputs().size() && !node.output(i).isEmpty();
    }

    /** The loop-IR element type of a graph dtype. */
    static ScalarType scalar(DType t) {
        return switch (t) {
            case FLOAT32 -> ScalarType.F32;
            case FLOAT64 -> ScalarType.F64;
            case FLOAT16 -> ScalarType.F16;
            case BFLOAT16 -> ScalarType.BF16;
            case INT8 -> ScalarType.I8;
            case INT16 -> ScalarType.I16;
            case INT32 -> ScalarType.I32;
            case INT64 -> ScalarType.I64;
            case UINT8 -> ScalarType.U8;
            case UINT16 -> ScalarType.U16;
            case UINT32 -> ScalarType.U32;
            case UINT64 -> ScalarType.U64;
            case BOOL -> ScalarType.BOOL;
        };
    }

    // ---- compile-time constants ----

    /** Input i's value when it is an initializer, else null (also null for an omitted input). */
    Tensor constant(int i) {
        return node.hasInput(i) ? graph.initializers().get(node.input(i)) : null;
    }

    /**
     * A placeholder for a constant the op derives from its inputs at compile time (a weight
     * re-laid out for the kernel): stored in the graph's initializers under {@code value} (kept if
     * already there, so nodes sharing a weight share the copy) and bound like any weight.
     */
    Placeholder derivedConstant(String value, Tensor t) {
        Tensor prev = graph.initializers().putIfAbsent(value, t);
        if (prev != null && !prev.shape().equals(t.shape()))
            throw new IllegalStateException(node.describe() + ": derived constant " + value + " exists with shape " + prev.shape());
        Placeholder p = placeholders.get(value);
        if (p != null) return p;
        p = Te.placeholder(name(value), scalar(t.dtype()), Te.box(t.shape().longDims()));
        placeholders.put(value, p);
        return p;
    }

    /** Input i's integer values; it must be a compile-time constant because it steers the kernel's indexing. */
    long[] constInts(int i, String role) {
        Tensor t = constant(i);
        if (t == null)
            throw node.error("input " + role + " ('" + node.input(i) + "') must be a compile-time constant for a native kernel "
                    + "(fold it with FoldConstants, or fix the model's input shapes)");
        return t.toLongArray();
    }

    /** An int-list attribute, or {@code n} copies of {@code dflt}. */
    long[] ints(String attr, int n, long dflt) {
        long[] v = node.attrInts(attr, null);
        if (v == null) {
            v = new long[n];
            java.util.Arrays.fill(v, dflt);
        }
        return v;
    }

    /** Normalizes a possibly negative axis. */
    int axis(long axis, int rank) {
        if (axis < -rank || axis >= rank) throw node.error("axis " + axis + " is out of range for rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    // ---- tensors ----

    /** Input i as a placeholder with its graph shape. */
    Placeholder input(int i) {
        return input(i, inDims(i));
    }

    /** Input i as a placeholder viewed with another shape of the same element count. */
    Placeholder input(int i, long[] viewShape) {
        String value = node.input(i);
        List<Long> shape = Te.box(viewShape.length == 0 ? new long[] {1} : viewShape);
        Placeholder p = placeholders.get(value);
        if (p != null) {
            if (!p.shape().equals(shape))
                throw new IllegalStateException(node.describe() + ": input " + value + " viewed as both " + p.shape() + " and " + shape);
            return p;
        }
        long numel = shape.stream().reduce(1L, (a, b) -> a * b);
        if (numel != in(i).shape().numel())
            throw new IllegalStateException(node.describe() + ": view " + shape + " of input " + value + in(i).shape());
        p = Te.placeholder(name(value), inType(i), shape);
        placeholders.put(value, p);
        return p;
    }

    /** Records a compute as the kernel's binding of node output i (call in dependency order). */
    void output(int i, Compute c) {
        long numel = c.shape().stream().reduce(1L, (a, b) -> a * b);
        if (numel != out(i).shape().numel())
            throw new IllegalStateException(node.describe() + ": compute " + c.name() + c.shape() + " for output " + out(i));
        outputs.add(c);
        outputNames.add(node.output(i));
    }

    /** Names the compute for output i after its graph value. */
    String outName(int i) {
        return name(node.output(i));
    }

    void tag(Compute c, Template t) {
        templates.put(c.name(), t);
    }

    /** A new reduce-axis variable with a unique name. */
    Expr.Var reduceAxis(String base) {
        return Te.reduceAxis(name(base));
    }

    /**
     * A unique C-safe name derived from {@code base}; a name is also unique against the loop names
     * its compute will produce, since every name is kept and reused names get a numeric suffix.
     */
    String name(String base) {
        String s = sanitize(base);
        String r = s;
        for (int k = 1; !names.add(r); k++) r = s + "_" + k;
        return r;
    }

    static String sanitize(String s) {
        StringBuilder b = new StringBuilder();
        for (char ch : s.toCharArray()) b.append(Character.isLetterOrDigit(ch) && ch < 128 ? ch : '_');
        if (b.isEmpty() || Character.isDigit(b.charAt(0))) b.insert(0, "v_");
        return b.toString();
    }

    /**
     * A compute that is stored once in a local buffer instead of being inlined into each reader:
     * lowering materializes only reductions, so the body is wrapped in a sum over one unit axis.
     * Used for per-row values (LayerNorm's 1/sqrt(var + eps)) that would otherwise be recomputed
     * for every element of the row.
     */
    Compute materialize(String base, ScalarType t, long[] shape, java.util.function.Function<List<Expr.Var>, Expr> body) {
        Expr.Var unit = reduceAxis(base + "_unit");
        return Te.compute(name(base), t, Te.box(shape), ax -> Te.sum(body.apply(ax), List.of(unit), List.of(1L)));
    }

    KilnException unsupported(String what) {
        return node.error(what + " is not supported by the native kernel yet");
    }

    OpCompute build() {
        if (outputs.isEmpty()) throw new IllegalStateException(node.describe() + ": no outputs built");
        String base = node.name().isEmpty() ? node.op() + "_" + node.output(0) : node.name();
        return new OpCompute("k_" + sanitize(base).replaceFirst("^v_", ""), List.copyOf(placeholders.values()),
                List.copyOf(placeholders.keySet()), outputs, outputNames, templates);
    }
}
