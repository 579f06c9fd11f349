package dev.kiln.frontend;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.onnx.OnnxProto.OperatorSetIdProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.onnx.OnnxProto.TypeProto;
import dev.kiln.frontend.onnx.OnnxProto.ValueInfoProto;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an ONNX model into a {@link Graph}. Graph inputs get static shapes (dynamic dimensions
 * bound by the user's {@code --input-shape}); initializers become tensors; nodes keep their ONNX
 * op, domain, attributes and the model's opset for their domain. Constant nodes stay nodes
 * (the graph passes fold them). A malformed model is a {@link KilnException} naming the file and
 * what is wrong with it.
 */
public final class OnnxReader {
    private final String model;
    private final TensorReader tensors;
    private final Map<String, Integer> opsets = new LinkedHashMap<>();

    /** The number of values {@code --input-value} binds to an input, by name: its length where the model leaves it open. */
    private final Map<String, Integer> lengths;

    private OnnxReader(String model, Path baseDir, Map<String, Integer> lengths) {
        this.model = model;
        this.tensors = new TensorReader(model, baseDir);
        this.lengths = lengths;
    }

    /** Reads the model file; external data is found relative to the file's directory. */
    public static Graph read(Path file, Map<String, long[]> inputShapes) {
        return read(file, inputShapes, Map.of());
    }

    /**
     * Reads the model file; {@code lengths} gives the number of values {@code --input-value}
     * binds to an input, which is its shape ({@code [n]}) when the model declares a 1-D input of
     * dynamic length and no --input-shape names it.
     */
    public static Graph read(Path file, Map<String, long[]> inputShapes, Map<String, Integer> lengths) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new KilnException("model file " + file + " does not exist; check the path (or use zoo:NAME for a built-in model)");
        } catch (AccessDeniedException e) {
            throw new KilnException("model file " + file + " cannot be read: permission denied");
        } catch (IOException e) {
            String why = Files.isDirectory(file) ? "it is a directory, not an .onnx file" : String.valueOf(e.getMessage());
            throw new KilnException("model file " + file + " cannot be read: " + why, e);
        } catch (OutOfMemoryError e) {
            throw new KilnException("model file " + file + " is too large to read into memory; run with a larger heap (-Xmx)");
        }
        Path dir = file.toAbsolutePath().getParent();
        return new OnnxReader(file.toString(), dir, lengths).model(parse(bytes, file.toString()), inputShapes == null ? Map.of() : inputShapes);
    }

    /**
     * Reads a serialized model.
     *
     * @param displayName              how errors name the model (usually its path)
     * @param baseDirForExternalData   where external data files are looked up; null if the model has none
     * @param inputShapes              static shapes for inputs by name (binds dynamic dimensions); may be null
     */
    public static Graph read(byte[] bytes, String displayName, Path baseDirForExternalData, Map<String, long[]> inputShapes) {
        return new OnnxReader(displayName, baseDirForExternalData, Map.of()).model(parse(bytes, displayName), inputShapes == null ? Map.of() : inputShapes);
    }

    /** Parses a serialized model, with the same error as reading it for compilation when it is not ONNX. */
    public static ModelProto parseModel(byte[] bytes, String displayName) {
        return parse(bytes, displayName);
    }

    /**
     * An initializer's value; {@code baseDir} is where its external data lives (null when the model
     * was read from memory), {@code model} names the model in errors.
     */
    public static Tensor tensor(TensorProto t, String model, Path baseDir) {
        return new TensorReader(model, baseDir).read(t, "initializer '" + t.getName() + "'");
    }

    private static ModelProto parse(byte[] bytes, String displayName) {
        try {
            return ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new KilnException("model " + displayName + " is not a valid ONNX model: the file could not be parsed as an ONNX protobuf ("
                    + e.getMessage() + "); it may be truncated (an interrupted download or copy) or not an ONNX file at all; re-export or re-download it");
        }
    }

    /** A tensor with the name it was saved under. */
    public record NamedTensor(String name, Tensor tensor) {}

    /**
     * Reads a file holding one serialized TensorProto, as the ONNX backend test data stores
     * inputs and expected outputs ({@code test_data_set_0/input_0.pb}).
     */
    public static NamedTensor readTensor(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new KilnException("tensor file " + file + " does not exist");
        } catch (IOException e) {
            throw new KilnException("tensor file " + file + " cannot be read: " + e.getMessage(), e);
        }
        TensorProto t;
        try {
            t = TensorProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new KilnException("tensor file " + file + " is not a valid ONNX TensorProto (" + e.getMessage() + "); it may be truncated");
        }
        Path dir = file.toAbsolutePath().getParent();
        return new NamedTensor(t.getName(), new TensorReader(file.toString(), dir).read(t, "tensor '" + t.getName() + "'"));
    }

    private Graph model(ModelProto proto, Map<String, long[]> inputShapes) {
        if (!proto.hasGraph())
            throw new KilnException("model " + model + " is not a valid ONNX model: it has no graph (" + proto.getSerializedSize()
                    + " bytes of other fields); it may be truncated or not an ONNX file");
        readOpsets(proto);
        GraphProto gp = proto.getGraph();
        if (gp.getNodeCount() == 0)
            throw new KilnException("model " + model + " has an empty graph (no nodes); there is nothing to compile");
        if (gp.getOutputCount() == 0)
            throw new KilnException("model " + model + " has a graph with no outputs; there is nothing to compute");
        Graph g = graph(gp, inputShapes, true);
        try {
            g.sortTopologically();
        } catch (KilnException e) {
            throw new KilnException("model " + model + ": " + e.getMessage(), e);
        }
        return g;
    }

    private void readOpsets(ModelProto proto) {
        for (OperatorSetIdProto o : proto.getOpsetImportList()) opsets.put(domain(o.getDomain()), (int) o.getVersion());
        if (opsets.isEmpty()) {
            // IR versions before 3 had no opset_import and meant opset 1.
            if (proto.getIrVersion() >= 3)
                throw new KilnException("model " + model + " is not a valid ONNX model: it declares no opset (opset_import is empty)"
                        + "; the file may be truncated, or was written by a broken exporter");
            opsets.put("", 1);
        }
    }

    /** "ai.onnx" and "" both name the default ONNX domain. */
    private static String domain(String d) {
        return d.equals("ai.onnx") ? "" : d;
    }

    /**
     * Reads a graph. The main graph binds its inputs to static shapes; subgraphs (If/Loop/Scan
     * bodies) are read without binding, since their shapes follow from the enclosing node, and
     * may use values of the enclosing graph, so they are not checked for undefined inputs here.
     */
    private Graph graph(GraphProto gp, Map<String, long[]> inputShapes, boolean main) {
        Graph g = new Graph(gp.getName().isEmpty() ? (main ? stem(model) : "subgraph") : gp.getName());
        if (main) g.opsets().putAll(opsets);
        Set<String> initNames = new HashSet<>();
        for (TensorProto t : gp.getInitializerList()) initNames.add(t.getName());

        List<String> runtimeInputs = new ArrayList<>();
        for (ValueInfoProto in : gp.getInputList()) if (!initNames.contains(in.getName())) runtimeInputs.add(in.getName());
        if (main) InputShapes.checkNamesExist(model, inputShapes, runtimeInputs);

        for (ValueInfoProto in : gp.getInputList()) {
            if (initNames.contains(in.getName())) continue; // an initializer listed as input (IR < 4): a constant, not fed
            Value v = main ? boundInput(in, inputShapes.get(in.getName())) : subgraphInput(in);
            g.inputs().add(v);
            g.values().put(v.name(), v);
        }
        for (TensorProto t : gp.getInitializerList()) {
            if (t.getName().isEmpty()) throw new KilnException("model " + model + " has an initializer with no name; the file is corrupt");
            g.initializers().put(t.getName(), tensors.read(t, "initializer '" + t.getName() + "'"));
        }
        if (gp.getSparseInitializerCount() > 0)
            throw new KilnException("model " + model + " has sparse initializers ("
                    + gp.getSparseInitializer(0).getValues().getName() + ", ...), which Kiln does not support; export the model with dense weights");
        for (ValueInfoProto out : gp.getOutputList()) {
            g.outputs().add(out.getName());
            Value v = declaredStatic(out);
            if (v != null && !g.values().containsKey(v.name())) g.values().put(v.name(), v);
        }
        g.setNodes(nodes(gp));
        return g;
    }

    private List<Node> nodes(GraphProto gp) {
        Set<String> used = new HashSet<>();
        for (NodeProto np : gp.getNodeList()) used.add(np.getName());
        List<Node> nodes = new ArrayList<>();
        Map<String, Integer> counters = new HashMap<>();
        for (NodeProto np : gp.getNodeList()) {
            String name = np.getName();
            if (name.isEmpty()) {
                // Names are how errors point at nodes, so give unnamed ones a stable, unique name.
                do name = np.getOpType() + "_" + counters.merge(np.getOpType(), 1, Integer::sum);
                while (!used.add(name));
            }
            String dom = domain(np.getDomain());
            Integer opset = opsets.get(dom);
            if (opset == null)
                throw new KilnException("node '" + name + "' (" + np.getOpType() + ") of model " + model + " uses operator domain '"
                        + dom + "', which the model does not import (opset_import lists " + opsets.keySet()
                        + "); the model is malformed, re-export it");
            Map<String, Attr> attrs = new LinkedHashMap<>();
            for (AttributeProto a : np.getAttributeList()) attrs.put(a.getName(), attr(a, name, np.getOpType()));
            nodes.add(new Node(name, np.getOpType(), dom, np.getInputList(), np.getOutputList(), attrs, opset));
        }
        return nodes;
    }

    private Attr attr(AttributeProto a, String node, String op) {
        String what = "attribute '" + a.getName() + "' of node '" + node + "' (" + op + ")";
        AttributeProto.AttributeType type = a.getType() != AttributeProto.AttributeType.UNDEFINED ? a.getType() : guessType(a);
        return switch (type) {
            case INT -> new Attr.Int(a.getI());
            case FLOAT -> new Attr.Float(a.getF());
            case STRING -> new Attr.Str(a.getS().toString(StandardCharsets.UTF_8));
            case INTS -> new Attr.Ints(a.getIntsList().stream().mapToLong(Long::longValue).toArray());
            case FLOATS -> {
                float[] f = new float[a.getFloatsCount()];
                for (int i = 0; i < f.length; i++) f[i] = a.getFloats(i);
                yield new Attr.Floats(f);
            }
            case STRINGS -> new Attr.Strs(a.getStringsList().stream().map(s -> s.toString(StandardCharsets.UTF_8)).toList());
            case TENSOR -> new Attr.TensorAttr(tensors.read(a.getT(), "tensor " + what));
            case GRAPH -> new Attr.GraphAttr(graph(a.getG(), Map.of(), false));
            case UNDEFINED -> throw new KilnException(what + " in model " + model
                    + " has an unknown or missing attribute type; the model may come from a newer ONNX version than Kiln reads, or be corrupt");
            default -> throw new KilnException(what + " in model " + model + " has attribute type " + type
                    + ", which Kiln does not support (it reads INT, FLOAT, STRING, INTS, FLOATS, STRINGS, TENSOR and GRAPH)");
        };
    }

    /** Very old models (IR version 1) left the attribute type out; it follows from which field is set. */
    private static AttributeProto.AttributeType guessType(AttributeProto a) {
        if (a.getIntsCount() > 0) return AttributeProto.AttributeType.INTS;
        if (a.getFloatsCount() > 0) return AttributeProto.AttributeType.FLOATS;
        if (a.getStringsCount() > 0) return AttributeProto.AttributeType.STRINGS;
        if (a.hasT()) return AttributeProto.AttributeType.TENSOR;
        if (a.hasG()) return AttributeProto.AttributeType.GRAPH;
        if (a.hasS()) return AttributeProto.AttributeType.STRING;
        if (a.hasI()) return AttributeProto.AttributeType.INT;
        if (a.hasF()) return AttributeProto.AttributeType.FLOAT;
        return AttributeProto.AttributeType.UNDEFINED;
    }

    private Value boundInput(ValueInfoProto in, long[] given) {
        TypeProto.Tensor tt = tensorType(in, "input");
        Integer length = lengths.get(in.getName());
        if (given == null && length != null && (!tt.hasShape() || !InputShapes.isStatic(tt.getShape()))) {
            if (tt.hasShape() && tt.getShape().getDimCount() != 1)
                throw new KilnException("--input-value " + in.getName() + ": input '" + in.getName() + "' of model " + model + " has "
                        + tt.getShape().getDimCount() + " dimensions, not all fixed; give its shape with --input-shape " + in.getName() + "=D1,D2,... too");
            given = new long[] {length};
        }
        Shape shape = InputShapes.bind(model, in.getName(), tt.hasShape() ? tt.getShape() : null, given);
        return new Value(in.getName(), elemType(tt, in.getName()), shape);
    }

    /**
     * A subgraph input (of an If/Loop/Scan body) as declared. Bodies often leave types out, since
     * they follow from the enclosing node: the dtype is null when the file gives none, and the
     * shape is null unless every dimension is static.
     */
    private Value subgraphInput(ValueInfoProto in) {
        if (!in.hasType()) return new Value(in.getName(), null, null);
        TypeProto.Tensor tt = tensorType(in, "subgraph input");
        DType dtype = tt.getElemType() == 0 ? null : elemType(tt, in.getName());
        Shape shape = tt.hasShape() && InputShapes.isStatic(tt.getShape()) ? Shape.of(InputShapes.staticDims(tt.getShape())) : null;
        return new Value(in.getName(), dtype, shape);
    }

    /** A graph output's declared type, when it is a tensor with a fully static shape; else null. */
    private Value declaredStatic(ValueInfoProto out) {
        if (!out.hasType() || !out.getType().hasTensorType()) return null;
        TypeProto.Tensor tt = out.getType().getTensorType();
        if (!tt.hasShape() || !InputShapes.isStatic(tt.getShape())) return null;
        try {
            return new Value(out.getName(), DType.fromOnnx(tt.getElemType()), Shape.of(InputShapes.staticDims(tt.getShape())));
        } catch (KilnException e) {
            return null; // an unsupported output type is reported by shape inference, where the op that makes it is known
        }
    }

    private TypeProto.Tensor tensorType(ValueInfoProto in, String role) {
        if (!in.hasType() || !in.getType().hasTensorType())
            throw new KilnException(role + " '" + in.getName() + "' of model " + model + " is "
                    + (in.hasType() ? "of " + in.getType().getValueCase().name().toLowerCase().replace("_type", "") + " type" : "untyped")
                    + ", not a tensor; Kiln compiles models whose inputs are tensors");
        return in.getType().getTensorType();
    }

    private DType elemType(TypeProto.Tensor tt, String name) {
        try {
            return DType.fromOnnx(tt.getElemType());
        } catch (KilnException e) {
            throw new KilnException("input '" + name + "' of model " + model + " has element type " + TensorReader.typeName(tt.getElemType())
                    + ", which Kiln does not support (supported: " + TensorReader.supportedTypes() + ")");
        }
    }

    /** "models/resnet.onnx" -> "resnet": the graph name when the file gives none. */
    private static String stem(String model) {
        String base = model.substring(model.lastIndexOf('/') + 1);
        int dot = base.lastIndexOf('.');
        return dot > 0 ? base.substring(0, dot) : base;
    }
}
