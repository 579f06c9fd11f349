package dev.kiln.frontend.zoo;

import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The built-in model zoo: well-known architectures with seeded random weights, so whole-model
 * tests and benchmarks need no downloads. A model is the same on every run; {@link #onnxBytes}
 * gives it as an ONNX file to hand to ONNX Runtime for comparison.
 */
public final class Zoo {
    private static final Map<String, Supplier<Graph>> MODELS = Map.of(
            "resnet18", ResNet18::build,
            "mobilenetv2", MobileNetV2::build,
            "bert", Bert::build,
            "mlp", Mlp::build);
    private static final List<String> NAMES = List.of("resnet18", "mobilenetv2", "bert", "mlp");
    private static final Map<String, byte[]> BYTES = new ConcurrentHashMap<>();

    private Zoo() {}

    public static List<String> names() {
        return NAMES;
    }

    /** A fresh graph of the named model (the caller may change it). */
    public static Graph build(String name) {
        Supplier<Graph> s = MODELS.get(name);
        if (s == null)
            throw new KilnException("unknown zoo model '" + name + "'; the zoo has " + String.join(", ", NAMES));
        return s.get();
    }

    /** The named model as a serialized ONNX file, built once per JVM; do not modify the array. */
    public static byte[] onnxBytes(String name) {
        byte[] b = BYTES.get(name);
        if (b == null) {
            b = OnnxWriter.write(build(name), OnnxWriter.IR_VERSION);
            BYTES.putIfAbsent(name, b);
        }
        return b;
    }
}
