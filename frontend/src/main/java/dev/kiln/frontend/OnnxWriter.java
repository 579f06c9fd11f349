package dev.kiln.frontend;

import com.google.protobuf.ByteString;
import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.onnx.OnnxProto.OperatorSetIdProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorShapeProto;
import dev.kiln.frontend.onnx.OnnxProto.TypeProto;
import dev.kiln.frontend.onnx.OnnxProto.ValueInfoProto;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link Graph} as an ONNX model: initializers as raw_data, graph inputs and outputs
 * with their tensor types. Used by the model zoo (to hand the same model to ONNX Runtime) and
 * by tests; reading what it writes gives back the same graph.
 */
public final class OnnxWriter {
    /** The IR version written by {@link #write(Graph, Path)}: ONNX 1.10+, read by every current runtime. */
    public static final int IR_VERSION = 8;
    /** The default-domain opset written when the graph declares none. */
    public static final int DEFAULT_OPSET = 17;
    /** Protobuf cannot serialize a message of 2 GiB or more. */
    private static final long MAX_PROTO_BYTES = Integer.MAX_VALUE;

    private OnnxWriter() {}

    /** The serialized model. */
    public static byte[] write(Graph g, int irVersion) {
        return model(g, irVersion).toByteArray();
    }

    /**
     * Writes the model to a file, through a temporary file in the same directory that is renamed
     * into place, so a failure never leaves a half-written model behind.
     */
    public static void write(Graph g, Path file) {
        byte[] bytes = write(g, IR_VERSION);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original error is the one worth reporting
                }
            }
            throw new KilnException("cannot write ONNX model '" + g.name() + "' to " + file + ": " + describe(e)
                    + "; check that the directory exists and is writable", e);
        }
    }

    static ModelProto model(Graph g, int irVersion) {
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(irVersion)
                .setProducerName("kiln")
                .setGraph(graph(g));
        Map<String, Integer> opsets = new LinkedHashMap<>(g.opsets());
        if (opsets.isEmpty()) opsets.put("", DEFAULT_OPSET);
        // A node of a domain the graph forgot to declare would make the file invalid: declare it.
        for (Node n : g.nodes()) opsets.putIfAbsent(n.domain(), n.opset());
        for (var e : opsets.entrySet())
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(e.getKey()).setVersion(e.getValue()));
        return m.build();
    }

    private static GraphProto graph(Graph g) {
        long bytes = 0;
        for (Tensor t : g.initializers().values()) bytes += (long) t.size() * t.dtype().byteSize;
        if (bytes >= MAX_PROTO_BYTES)
            throw new KilnException("graph '" + g.name() + "' has " + bytes + " bytes of weights; an ONNX file without external data holds less than 2 GiB");
        GraphProto.Builder b = GraphProto.newBuilder().setName(g.name());
        for (Node n : g.nodes()) b.addNode(node(n));
        for (var e : g.initializers().entrySet()) b.addInitializer(tensor(e.getKey(), e.getValue()));
        for (Value v : g.inputs()) b.addInput(valueInfo(v));
        for (String o : g.outputs()) {
            Value v = g.values().get(o);
            if (v == null && g.initializers().containsKey(o)) v = g.value(o);
            b.addOutput(v != null ? valueInfo(v) : ValueInfoProto.newBuilder().setName(o).build());
        }
        return b.build();
    }

    private static NodeProto node(Node n) {
        NodeProto.Builder b = NodeProto.newBuilder()
                .setName(n.name())
                .setOpType(n.op())
                .addAllInput(n.inputs())
                .addAllOutput(n.outputs());
        if (!n.domain().isEmpty()) b.setDomain(n.domain());
        for (var e : n.attrs().entrySet()) b.addAttribute(attr(e.getKey(), e.getValue()));
        return b.build();
    }

    private static AttributeProto attr(String name, Attr a) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name);
        switch (a) {
            case Attr.Int(long v) -> b.setType(AttributeProto.AttributeType.INT).setI(v);
            case Attr.Float(float v) -> b.setType(AttributeProto.AttributeType.FLOAT).setF(v);
            case Attr.Str(String v) -> b.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFrom(v, StandardCharsets.UTF_8));
            case Attr.Ints(long[] v) -> {
                b.setType(AttributeProto.AttributeType.INTS);
                for (long x : v) b.addInts(x);
            }
            case Attr.Floats(float[] v) -> {
                b.setType(AttributeProto.AttributeType.FLOATS);
                for (float x : v) b.addFloats(x);
            }
            case Attr.Strs(List<String> v) -> {
                b.setType(AttributeProto.AttributeType.STRINGS);
                for (String x : v) b.addStrings(ByteString.copyFrom(x, StandardCharsets.UTF_8));
            }
            case Attr.TensorAttr(Tensor t) -> b.setType(AttributeProto.AttributeType.TENSOR).setT(tensor("", t));
            case Attr.GraphAttr(Graph g) -> b.setType(AttributeProto.AttributeType.GRAPH).setG(graph(g));
        }
        return b.build();
    }

    public static TensorProto tensor(String name, Tensor t) {
        TensorProto.Builder b = TensorProto.newBuilder().setDataType(t.dtype().onnxCode);
        if (!name.isEmpty()) b.setName(name);
        for (long d : t.shape().longDims()) b.addDims(d);
        return b.setRawData(ByteString.copyFrom(t.toBytes())).build();
    }

    /** A tensor value's declaration; a subgraph input's unknown dtype or shape (null) is left out. */
    private static ValueInfoProto valueInfo(Value v) {
        ValueInfoProto.Builder b = ValueInfoProto.newBuilder().setName(v.name());
        if (v.dtype() == null && v.shape() == null) return b.build();
        TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder();
        if (v.dtype() != null) t.setElemType(v.dtype().onnxCode);
        if (v.shape() != null) {
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            for (long d : v.shape().longDims()) shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            t.setShape(shape);
        }
        return b.setType(TypeProto.newBuilder().setTensorType(t)).build();
    }

    private static String describe(IOException e) {
        return switch (e) {
            case java.nio.file.NoSuchFileException x -> "no such directory";
            case java.nio.file.AccessDeniedException x -> "permission denied";
            default -> e.getClass().getSimpleName() + ": " + e.getMessage();
        };
    }
}
