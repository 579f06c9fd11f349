package dev.kiln.frontend.quantize;

import com.google.protobuf.ByteString;
import dev.kiln.frontend.OnnxReader;
import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.onnx.OnnxProto.OperatorSetIdProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.onnx.OnnxProto.TypeProto;
import dev.kiln.frontend.onnx.OnnxProto.ValueInfoProto;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Post-training static quantization of an ONNX model into the standard QDQ form: every float input of
 * a Conv, MatMul or Gemm goes through a QuantizeLinear/DequantizeLinear pair. Weights (initializers)
 * become int8 initializers, symmetric (zero point 0, range [-127, 127]), per tensor or per output
 * channel, behind a DequantizeLinear; activations get a QuantizeLinear/DequantizeLinear pair per
 * tensor with the scale and zero point of the range calibration found (asymmetric, uint8 or int8).
 * Biases and every other op stay float. The rest of the model is copied unchanged, so ONNX Runtime
 * and Kiln run the same quantized model.
 */
public final class QdqRewriter {
    /** The ops whose inputs are quantized. */
    public static final Set<String> OPS = Set.of("Conv", "MatMul", "Gemm");

    /** How to quantize: per-channel weights, the activations' type (UINT8 or INT8), nodes left float. */
    public record Options(boolean perChannel, DType activations, Set<String> exclude) {
        public Options {
            if (activations != DType.UINT8 && activations != DType.INT8)
                throw new KilnException("activations are quantized to uint8 or int8, not " + activations.numpyName);
            exclude = Set.copyOf(exclude);
        }
    }

    /** A weight to quantize: an initializer and the axis of its channels (-1 for per tensor). */
    public record Weight(String initializer, int axis) {}

    /** A node input that is quantized: the node's index in the graph, the input's position and what feeds it. */
    record Use(int node, int input, String activation, Weight weight) {}

    /**
     * What quantizing this model does: the activations to calibrate (in the order of the graph), the
     * weights, the quantized nodes, and each skipped node with the reason.
     */
    public record Plan(List<String> activations, List<Weight> weights, List<String> quantizedNodes, Map<String, String> skipped,
                       List<Use> uses) {}

    private QdqRewriter() {}

    /**
     * Finds what to quantize. {@code dtypeOf} gives a tensor's element type (null when unknown); only
     * float32 inputs are quantized.
     */
    public static Plan plan(ModelProto m, Options o, Function<String, DType> dtypeOf) {
        int opset = defaultOpset(m);
        if (opset < 10)
            throw new KilnException("the model imports ONNX opset " + opset + ", but QuantizeLinear and DequantizeLinear need opset 10 or "
                    + "later; convert the model to a newer opset first (onnx.version_converter)");
        if (o.perChannel() && opset < 13)
            throw new KilnException("--per-channel needs opset 13 or later (DequantizeLinear's axis), but the model imports opset " + opset
                    + "; leave out --per-channel or convert the model to a newer opset");
        GraphProto g = m.getGraph();
        Set<String> names = new HashSet<>();
        for (NodeProto n : g.getNodeList()) names.add(n.getName());
        for (String x : o.exclude()) {
            if (!names.contains(x))
                throw new KilnException("--exclude " + x + ": the model has no node named '" + x + "'; quantizable nodes: "
                        + preview(g.getNodeList().stream().filter(QdqRewriter::eligibleOp).map(NodeProto::getName).toList()));
        }
        Map<String, TensorProto> inits = initializers(g);
        Set<String> dequantized = new HashSet<>();
        for (NodeProto n : g.getNodeList()) if (n.getOpType().equals("DequantizeLinear")) dequantized.addAll(n.getOutputList());
        Set<String> activations = new LinkedHashSet<>();
        Set<Weight> weights = new LinkedHashSet<>();
        List<String> quantized = new ArrayList<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        List<Use> uses = new ArrayList<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            if (!eligibleOp(n)) continue;
            String label = n.getName().isEmpty() ? n.getOpType() + " #" + i : n.getName();
            if (o.exclude().contains(n.getName())) {
                skipped.put(label, "excluded");
                continue;
            }
            List<Use> mine = new ArrayList<>();
            String why = null;
            for (int k = 0; k < 2 && why == null; k++) {
                String in = k < n.getInputCount() ? n.getInput(k) : "";
                if (in.isEmpty()) {
                    why = "input " + k + " is missing";
                } else if (dequantized.contains(in)) {
                    why = "input '" + in + "' comes from a DequantizeLinear: the model is quantized already";
                } else if (inits.containsKey(in)) {
                    TensorProto t = inits.get(in);
                    if (t.getDataType() != DType.FLOAT32.onnxCode) why = "its constant input '" + in + "' is not float32";
                    else mine.add(new Use(i, k, null, new Weight(in, o.perChannel() && k == 1 ? channelAxis(n, t.getDimsCount()) : -1)));
                } else if (dtypeOf.apply(in) != DType.FLOAT32) {
                    why = "input '" + in + "' is " + (dtypeOf.apply(in) == null ? "of unknown type" : dtypeOf.apply(in).numpyName) + ", not float32";
                } else {
                    mine.add(new Use(i, k, in, null));
                }
            }
            if (why != null) {
                skipped.put(label, why);
                continue;
            }
            for (Use u : mine) {
                if (u.activation() != null) activations.add(u.activation());
                else weights.add(u.weight());
            }
            uses.addAll(mine);
            quantized.add(label);
        }
        return new Plan(List.copyOf(activations), List.copyOf(weights), quantized, skipped, uses);
    }

    /**
     * The model with every activation of the plan that is not a graph input also a graph output, for
     * calibration: the runtime returns their values with the model's own outputs.
     */
    public static ModelProto calibrationModel(ModelProto m, Plan p) {
        GraphProto g = m.getGraph();
        Set<String> present = new HashSet<>();
        g.getOutputList().forEach(v -> present.add(v.getName()));
        g.getInputList().forEach(v -> present.add(v.getName()));
        GraphProto.Builder b = g.toBuilder();
        for (String a : p.activations()) {
            if (present.contains(a)) continue;
            b.addOutput(ValueInfoProto.newBuilder().setName(a).setType(TypeProto.newBuilder()
                    .setTensorType(TypeProto.Tensor.newBuilder().setElemType(DType.FLOAT32.onnxCode))));
        }
        return m.toBuilder().setGraph(b).build();
    }

    /** What {@link #apply} wrote, for the report. */
    public record Result(ModelProto model, long floatWeightBytes, long quantizedWeightBytes) {}

    /**
     * Rewrites the model: Q/DQ pairs on the activations with the given ranges ({min, max} per tensor),
     * int8 weights behind DequantizeLinear. External data is read (relative to {@code baseDir}) and
     * written inline.
     */
    public static Result apply(ModelProto m, Plan p, Map<String, float[]> ranges, Options o, String modelName, Path baseDir) {
        GraphProto g = m.getGraph();
        Set<String> taken = allNames(g);
        Map<String, TensorProto> inits = initializers(g);
        List<TensorProto> added = new ArrayList<>();
        // What each quantized input reads instead, and the Q/DQ nodes to place before the node that first reads it.
        Map<String, String> activationOut = new LinkedHashMap<>();
        Map<Weight, String> weightOut = new LinkedHashMap<>();
        Map<Integer, List<NodeProto>> before = new TreeMap<>();
        long floatBytes = 0, quantBytes = 0;
        for (Use u : p.uses()) {
            if (u.activation() != null && !activationOut.containsKey(u.activation())) {
                String a = u.activation();
                float[] r = ranges.get(a);
                if (r == null) throw new IllegalStateException("no calibrated range for '" + a + "'");
                Quantization.Params q = Quantization.activation(r[0], r[1], o.activations());
                String scale = fresh(taken, a + "_scale"), zp = fresh(taken, a + "_zero_point");
                String qOut = fresh(taken, a + "_quantized"), dqOut = fresh(taken, a + "_dequantized");
                added.add(floats(scale, new long[0], new float[] {q.scale()}));
                added.add(bytes(zp, o.activations(), new long[0], new byte[] {(byte) q.zeroPoint()}));
                before.computeIfAbsent(u.node(), k -> new ArrayList<>()).add(node(fresh(taken, a + "_QuantizeLinear"), "QuantizeLinear",
                        List.of(a, scale, zp), qOut, -1));
                before.get(u.node()).add(node(fresh(taken, a + "_DequantizeLinear"), "DequantizeLinear", List.of(qOut, scale, zp), dqOut, -1));
                activationOut.put(a, dqOut);
            } else if (u.weight() != null && !weightOut.containsKey(u.weight())) {
                Weight w = u.weight();
                Tensor t = OnnxReader.tensor(inits.get(w.initializer()), modelName, baseDir);
                Quantization.Weights q = Quantization.weights(t.floats(), t.shape().longDims(), w.axis());
                String base = w.initializer() + (w.axis() >= 0 ? "_per_channel" : "");
                String qName = fresh(taken, base + "_quantized"), scale = fresh(taken, base + "_scale");
                String zp = fresh(taken, base + "_zero_point"), dqOut = fresh(taken, base + "_dequantized");
                long[] scaleShape = w.axis() >= 0 ? new long[] {q.scales().length} : new long[0];
                added.add(bytes(qName, DType.INT8, t.shape().longDims(), q.values()));
                added.add(floats(scale, scaleShape, q.scales()));
                added.add(bytes(zp, DType.INT8, scaleShape, new byte[q.scales().length]));
                before.computeIfAbsent(u.node(), k -> new ArrayList<>()).add(node(fresh(taken, base + "_DequantizeLinear"), "DequantizeLinear",
                        List.of(qName, scale, zp), dqOut, w.axis()));
                weightOut.put(w, dqOut);
                floatBytes += 4L * t.size();
                quantBytes += q.values().length + 5L * q.scales().length;
            }
        }
        GraphProto.Builder b = g.toBuilder().clearNode();
        Map<Integer, Map<Integer, String>> rewired = new LinkedHashMap<>();
        for (Use u : p.uses())
            rewired.computeIfAbsent(u.node(), k -> new LinkedHashMap<>()).put(u.input(),
                    u.activation() != null ? activationOut.get(u.activation()) : weightOut.get(u.weight()));
        for (int i = 0; i < g.getNodeCount(); i++) {
            before.getOrDefault(i, List.of()).forEach(b::addNode);
            NodeProto.Builder n = g.getNode(i).toBuilder();
            rewired.getOrDefault(i, Map.of()).forEach(n::setInput);
            b.addNode(n);
        }
        // Float weights nothing reads any more are dropped; external data is brought inline.
        b.clearInitializer();
        for (TensorProto t : g.getInitializerList()) {
            b.addInitializer(t.getDataLocation() == TensorProto.DataLocation.EXTERNAL
                    ? dev.kiln.frontend.OnnxWriter.tensor(t.getName(), OnnxReader.tensor(t, modelName, baseDir)) : t);
        }
        b.addAllInitializer(added);
        withoutUnread(b);
        return new Result(m.toBuilder().setGraph(b).build(), floatBytes, quantBytes);
    }

    /** Drops the initializers no node or output reads (with their graph inputs, in models that list initializers as inputs). */
    static void withoutUnread(GraphProto.Builder b) {
        Set<String> read = readNames(b.build());
        List<TensorProto> kept = b.getInitializerList().stream().filter(t -> read.contains(t.getName())).toList();
        Set<String> inits = new HashSet<>();
        b.getInitializerList().forEach(t -> inits.add(t.getName()));
        List<ValueInfoProto> inputs = b.getInputList().stream().filter(v -> !inits.contains(v.getName()) || read.contains(v.getName())).toList();
        b.clearInitializer().addAllInitializer(kept).clearInput().addAllInput(inputs);
    }

    static boolean eligibleOp(NodeProto n) {
        return OPS.contains(n.getOpType()) && (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"));
    }

    /** The axis of a weight's output channels: Conv's W [M, C, ...] axis 0, MatMul's B [.., K, N] its last, Gemm's B by transB. */
    static int channelAxis(NodeProto n, int rank) {
        return switch (n.getOpType()) {
            case "Conv" -> 0;
            case "Gemm" -> intAttr(n, "transB", 0) != 0 ? 0 : 1;
            default -> rank - 1;
        };
    }

    static int defaultOpset(ModelProto m) {
        for (OperatorSetIdProto o : m.getOpsetImportList())
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) return (int) o.getVersion();
        return 1;
    }

    private static long intAttr(NodeProto n, String name, long dflt) {
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return a.getI();
        return dflt;
    }

    private static Map<String, TensorProto> initializers(GraphProto g) {
        Map<String, TensorProto> r = new LinkedHashMap<>();
        for (TensorProto t : g.getInitializerList()) r.put(t.getName(), t);
        return r;
    }

    /** Every name the graph reads: node inputs (subgraphs included, which may read the outer graph's values) and outputs. */
    private static Set<String> readNames(GraphProto g) {
        Set<String> r = new HashSet<>();
        for (NodeProto n : g.getNodeList()) {
            r.addAll(n.getInputList());
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) r.addAll(readNames(a.getG()));
                for (GraphProto sub : a.getGraphsList()) r.addAll(readNames(sub));
            }
        }
        g.getOutputList().forEach(v -> r.add(v.getName()));
        return r;
    }

    private static Set<String> allNames(GraphProto g) {
        Set<String> r = readNames(g);
        for (NodeProto n : g.getNodeList()) {
            r.addAll(n.getOutputList());
            r.add(n.getName());
        }
        g.getInputList().forEach(v -> r.add(v.getName()));
        g.getValueInfoList().forEach(v -> r.add(v.getName()));
        g.getInitializerList().forEach(t -> r.add(t.getName()));
        return r;
    }

    private static String fresh(Set<String> taken, String name) {
        String n = name;
        for (int i = 1; taken.contains(n); i++) n = name + "_" + i;
        taken.add(n);
        return n;
    }

    private static NodeProto node(String name, String op, List<String> inputs, String output, int axis) {
        NodeProto.Builder n = NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(inputs).addOutput(output);
        if (axis >= 0) n.addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(axis));
        return n.build();
    }

    private static TensorProto floats(String name, long[] dims, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) buf.putFloat(v);
        return tensor(name, DType.FLOAT32, dims, buf.array());
    }

    private static TensorProto bytes(String name, DType t, long[] dims, byte[] values) {
        return tensor(name, t, dims, values);
    }

    private static TensorProto tensor(String name, DType t, long[] dims, byte[] raw) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(t.onnxCode).setRawData(ByteString.copyFrom(raw));
        for (long d : dims) b.addDims(d);
        return b.build();
    }

    /** The bytes of all the model's initializers (elements times element size, wherever the data is stored). */
    public static long initializerBytes(ModelProto m) {
        long n = 0;
        for (TensorProto t : m.getGraph().getInitializerList()) n += byteSize(t);
        return n;
    }

    /** An initializer's bytes: its element count times its element size. */
    private static long byteSize(TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) n *= d;
        DType dt;
        try {
            dt = DType.fromOnnx(t.getDataType());
        } catch (KilnException e) {
            return t.getRawData().size();
        }
        return n * dt.byteSize;
    }

    private static String preview(List<String> names) {
        List<String> named = names.stream().filter(s -> !s.isEmpty()).toList();
        if (named.isEmpty()) return "none with a name";
        return String.join(", ", named.subList(0, Math.min(8, named.size()))) + (named.size() > 8 ? ", ... (" + named.size() + " in all)" : "");
    }
}
