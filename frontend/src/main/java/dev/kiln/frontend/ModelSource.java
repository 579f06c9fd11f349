package dev.kiln.frontend;

import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/** Where a model comes from on the command line: {@code zoo:NAME} for a built-in model, else an ONNX file path. */
public final class ModelSource {
    public static final String ZOO_PREFIX = "zoo:";

    private ModelSource() {}

    /**
     * Loads the model. For a zoo model the input shapes are fixed: {@code inputShapes} must be
     * empty or name the zoo model's inputs with their own shapes.
     */
    public static Graph load(String spec, Map<String, long[]> inputShapes) {
        return load(spec, inputShapes, Map.of());
    }

    /**
     * Loads the model with the inputs {@code inputValues} names bound to those values (see
     * {@link InputValues}); null or empty binds none.
     */
    public static Graph load(String spec, Map<String, long[]> inputShapes, Map<String, java.util.List<String>> inputValues) {
        Map<String, java.util.List<String>> values = inputValues == null ? Map.of() : inputValues;
        Graph g = loadShaped(spec, inputShapes, values);
        InputValues.bind(g, values, spec);
        return g;
    }

    private static Graph loadShaped(String spec, Map<String, long[]> inputShapes, Map<String, java.util.List<String>> values) {
        Map<String, long[]> shapes = inputShapes == null ? Map.of() : inputShapes;
        if (!spec.startsWith(ZOO_PREFIX)) return OnnxReader.read(Path.of(spec), shapes, InputValues.counts(values));
        Graph g = Zoo.build(spec.substring(ZOO_PREFIX.length()));
        for (var e : shapes.entrySet()) {
            Value in = g.inputs().stream().filter(v -> v.name().equals(e.getKey())).findFirst().orElseThrow(() -> new KilnException(
                    "--input-shape " + e.getKey() + ": zoo model " + spec + " has no input named '" + e.getKey() + "'; its inputs are "
                            + String.join(", ", g.inputs().stream().map(Value::name).toList())));
            if (!Arrays.equals(in.shape().longDims(), e.getValue()))
                throw new KilnException("--input-shape " + e.getKey() + "=" + join(e.getValue()) + ": zoo model " + spec
                        + " has the fixed input shape " + in.shape() + "; leave --input-shape out for zoo models");
        }
        return g;
    }

    /** The serialized ONNX model: the zoo model written out, or the file's bytes. */
    public static byte[] onnxBytes(String spec) {
        if (isZoo(spec)) return Zoo.onnxBytes(spec.substring(ZOO_PREFIX.length()));
        Path file = Path.of(spec);
        try {
            return java.nio.file.Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new KilnException("model file " + file + " does not exist; check the path (or use zoo:NAME for a built-in model)");
        } catch (java.io.IOException e) {
            String why = java.nio.file.Files.isDirectory(file) ? "it is a directory, not an .onnx file" : String.valueOf(e.getMessage());
            throw new KilnException("model file " + file + " cannot be read: " + why, e);
        }
    }

    /** True when the spec names a built-in model rather than a file. */
    public static boolean isZoo(String spec) {
        return spec.startsWith(ZOO_PREFIX);
    }

    private static String join(long[] dims) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; dims != null && i < dims.length; i++) b.append(i == 0 ? "" : ",").append(dims[i]);
        return b.toString();
    }
}
