package dev.kiln.frontend.zoo;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Builds ONNX-style graphs in a few lines per layer, for the model zoo and for tests. Each op
 * method adds one node (named {@code scope/Op_k}, unique) whose single output has the node's
 * name, creates the node's weights as initializers named after it ({@code scope/Conv_0.weight})
 * and returns the output's name. Weights are drawn from a seeded {@link SplittableRandom}, so a
 * model is the same on every run and every machine.
 *
 * <p>Weight scales keep activations O(1) through deep networks (He/Kaiming for layers followed by
 * ReLU, LeCun for linear ones; batch-norm statistics near identity), so outputs are numerically
 * meaningful when compared with another runtime.
 */
public final class GraphBuilder {
    private final Graph graph;
    private final int opset;
    private final SplittableRandom rng;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Integer> counters = new HashMap<>();
    private String scope = "";

    /** A builder for a graph whose nodes are all in the default ONNX domain at {@code opset}. */
    public GraphBuilder(String name, int opset, long seed) {
        this.graph = new Graph(name);
        this.opset = opset;
        this.rng = new SplittableRandom(seed);
        graph.opsets().put("", opset);
    }

    /** Prefixes the names of nodes added from now on (like a module path in PyTorch); "" for none. */
    public GraphBuilder scope(String scope) {
        this.scope = scope;
        return this;
    }

    /** Declares a float32 graph input. */
    public String input(String name, long... shape) {
        Value v = new Value(name, DType.FLOAT32, Shape.of(shape));
        graph.inputs().add(v);
        graph.values().put(name, v);
        return name;
    }

    /**
     * Finishes the graph: {@code value} becomes the float32 graph output {@code name} of the given
     * shape (the node that makes it is renamed to produce it). The builder is spent afterwards.
     */
    public Graph finish(String value, String name, long... shape) {
        List<Node> renamed = new ArrayList<>();
        for (Node n : nodes) {
            renamed.add(new Node(n.name(), n.op(), n.domain(), rename(n.inputs(), value, name), rename(n.outputs(), value, name), n.attrs(), n.opset()));
        }
        graph.setNodes(renamed);
        graph.outputs().add(name);
        graph.values().put(name, new Value(name, DType.FLOAT32, Shape.of(shape)));
        graph.sortTopologically();
        return graph;
    }

    private static List<String> rename(List<String> names, String from, String to) {
        return names.stream().map(s -> s.equals(from) ? to : s).toList();
    }

    // ---- generic nodes and constants ------------------------------------------------------

    /** Adds a node with one output and returns the output's name. */
    public String node(String op, Map<String, Attr> attrs, String... inputs) {
        return emit(newName(op), op, attrs, inputs);
    }

    /** A Constant node holding {@code value} (left for the graph passes to fold). */
    public String constant(Tensor value) {
        return node("Constant", Map.of("value", new Attr.TensorAttr(value)));
    }

    /** A Constant node holding one float32 scalar. */
    public String scalar(float v) {
        return constant(Tensor.ofFloats(Shape.SCALAR, v));
    }

    /** An initializer named {@code name} (must be unique). */
    public String initializer(String name, Tensor value) {
        if (graph.initializers().putIfAbsent(name, value) != null)
            throw new KilnException("zoo graph '" + graph.name() + "': initializer '" + name + "' defined twice");
        return name;
    }

    /** A float32 tensor of N(0, std^2) values. */
    public Tensor normal(double std, long... shape) {
        return Tensor.generate(DType.FLOAT32, Shape.of(shape), i -> rng.nextGaussian() * std);
    }

    /** A float32 tensor of values uniform in [lo, hi). */
    public Tensor uniform(double lo, double hi, long... shape) {
        return Tensor.generate(DType.FLOAT32, Shape.of(shape), i -> rng.nextDouble(lo, hi));
    }

    // ---- convolutional layers ------------------------------------------------------------

    /** Conv without bias (followed by batch norm), He-initialized for a following ReLU. */
    public String conv(String x, int inC, int outC, int k, int stride, int pad, int group) {
        return conv(x, inC, outC, k, stride, pad, group, 2.0);
    }

    /** Conv without bias; weights have variance {@code gain / fanIn} (2 before ReLU, 1 for a linear layer). */
    public String conv(String x, int inC, int outC, int k, int stride, int pad, int group, double gain) {
        String n = newName("Conv");
        int fanIn = inC / group * k * k;
        String w = initializer(n + ".weight", normal(Math.sqrt(gain / fanIn), outC, inC / group, k, k));
        Map<String, Attr> a = new LinkedHashMap<>();
        a.put("dilations", ints(1, 1));
        a.put("group", new Attr.Int(group));
        a.put("kernel_shape", ints(k, k));
        a.put("pads", ints(pad, pad, pad, pad));
        a.put("strides", ints(stride, stride));
        return emit(n, "Conv", a, x, w);
    }

    /**
     * Inference-mode BatchNormalization with statistics near identity: gamma ~ U(0.8, 1.2),
     * beta and mean small, running variance in [0.5, 1.5].
     */
    public String batchNorm(String x, int channels) {
        return batchNorm(x, channels, 1.0);
    }

    /** Batch norm whose gamma is scaled by {@code gammaScale} (below 1 damps a residual branch). */
    public String batchNorm(String x, int channels, double gammaScale) {
        String n = newName("BatchNormalization");
        String scale = initializer(n + ".weight", uniform(0.8 * gammaScale, 1.2 * gammaScale, channels));
        String bias = initializer(n + ".bias", normal(0.05, channels));
        String mean = initializer(n + ".running_mean", normal(0.05, channels));
        String var = initializer(n + ".running_var", uniform(0.5, 1.5, channels));
        return emit(n, "BatchNormalization", Map.of("epsilon", new Attr.Float(1e-5f)), x, scale, bias, mean, var);
    }

    public String maxPool(String x, int k, int stride, int pad) {
        Map<String, Attr> a = new LinkedHashMap<>();
        a.put("kernel_shape", ints(k, k));
        a.put("pads", ints(pad, pad, pad, pad));
        a.put("strides", ints(stride, stride));
        return node("MaxPool", a, x);
    }

    public String globalAveragePool(String x) {
        return node("GlobalAveragePool", Map.of(), x);
    }

    public String flatten(String x, int axis) {
        return node("Flatten", Map.of("axis", new Attr.Int(axis)), x);
    }

    // ---- dense layers ----------------------------------------------------------------------

    /** Gemm(x, W^T, b) with W of shape [out, in] (transB=1, as PyTorch exports Linear); variance gain / in. */
    public String gemm(String x, int in, int out, double gain) {
        String n = newName("Gemm");
        String w = initializer(n + ".weight", normal(Math.sqrt(gain / in), out, in));
        String b = initializer(n + ".bias", normal(0.05, out));
        Map<String, Attr> a = new LinkedHashMap<>();
        a.put("alpha", new Attr.Float(1f));
        a.put("beta", new Attr.Float(1f));
        a.put("transB", new Attr.Int(1));
        return emit(n, "Gemm", a, x, w, b);
    }

    /** MatMul(x, W) with W of shape [in, out]; variance gain / in. */
    public String matmul(String x, int in, int out, double gain) {
        String n = newName("MatMul");
        String w = initializer(n + ".weight", normal(Math.sqrt(gain / in), in, out));
        return emit(n, "MatMul", Map.of(), x, w);
    }

    /** Add of a small learned bias vector of length {@code dim} (broadcast over the last axis). */
    public String addBias(String x, int dim) {
        String n = newName("Add");
        String b = initializer(n + ".bias", normal(0.05, dim));
        return emit(n, "Add", Map.of(), x, b);
    }

    /** LayerNormalization over the last axis (opset 17) with gamma near 1 and small beta. */
    public String layerNorm(String x, int dim) {
        String n = newName("LayerNormalization");
        String scale = initializer(n + ".weight", uniform(0.8, 1.2, dim));
        String bias = initializer(n + ".bias", normal(0.05, dim));
        Map<String, Attr> a = new LinkedHashMap<>();
        a.put("axis", new Attr.Int(-1));
        a.put("epsilon", new Attr.Float(1e-5f));
        return emit(n, "LayerNormalization", a, x, scale, bias);
    }

    // ---- elementwise and shape ops -----------------------------------------------------------

    public String relu(String x) {
        return node("Relu", Map.of(), x);
    }

    /** Clip with min and max given as constant inputs (opset 11+), e.g. ReLU6. */
    public String clip(String x, float min, float max) {
        String n = newName("Clip");
        String lo = initializer(n + ".min", Tensor.ofFloats(Shape.SCALAR, min));
        String hi = initializer(n + ".max", Tensor.ofFloats(Shape.SCALAR, max));
        return emit(n, "Clip", Map.of(), x, lo, hi);
    }

    public String add(String a, String b) {
        return node("Add", Map.of(), a, b);
    }

    public String mul(String a, String b) {
        return node("Mul", Map.of(), a, b);
    }

    public String div(String a, String b) {
        return node("Div", Map.of(), a, b);
    }

    public String erf(String x) {
        return node("Erf", Map.of(), x);
    }

    public String softmax(String x, int axis) {
        return node("Softmax", Map.of("axis", new Attr.Int(axis)), x);
    }

    public String transpose(String x, long... perm) {
        return node("Transpose", Map.of("perm", new Attr.Ints(perm)), x);
    }

    /** Reshape to a static shape given by an int64 Constant node (as exporters write it). */
    public String reshape(String x, long... shape) {
        String s = constant(Tensor.ofLongs(Shape.of(shape.length), shape));
        return node("Reshape", Map.of(), x, s);
    }

    // ---- internals -------------------------------------------------------------------------

    private String newName(String op) {
        String prefix = (scope.isEmpty() ? "" : scope + "/") + op;
        int k = counters.merge(prefix, 1, Integer::sum) - 1;
        return prefix + "_" + k;
    }

    private String emit(String name, String op, Map<String, Attr> attrs, String... inputs) {
        nodes.add(new Node(name, op, "", List.of(inputs), List.of(name), attrs, opset));
        return name;
    }

    private static Attr.Ints ints(long... v) {
        return new Attr.Ints(v);
    }
}
