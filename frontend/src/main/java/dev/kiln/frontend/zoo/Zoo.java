package dev.kiln.frontend.zoo;

import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;

/**
 * The built-in model zoo: well-known architectures with seeded random weights, so whole-model
 * tests and benchmarks need no downloads. A model is the same on every run; {@link #onnxBytes}
 * gives it as an ONNX file to hand to ONNX Runtime for comparison.
 *
 * <p>Models are built for batch 1 unless {@link #build(String, int)} asks for another batch N:
 * the first dimension of the input and the output is then N (for lstm the second: its input is
 * {@code [steps, batch, features]}, as PyTorch exports it), every Reshape and Flatten follows,
 * and the weights are the same as at batch 1 (each row of a batch-N output is the batch-1 output
 * of that input row).
 */
public final class Zoo {
    private static final Map<String, IntFunction<Graph>> MODELS = Map.of(
            "resnet18", ResNet18::build,
            "mobilenetv2", MobileNetV2::build,
            "bert", Bert::build,
            "mlp", Mlp::build,
            "lstm", Lstm::build);
    private static final List<String> NAMES = List.of("resnet18", "mobilenetv2", "bert", "mlp", "lstm");
    private static final Map<String, byte[]> BYTES = new ConcurrentHashMap<>();

    private Zoo() {}

    public static List<String> names() {
        return NAMES;
    }

    /** A fresh graph of the named model at batch 1 (the caller may change it). */
    public static Graph build(String name) {
        return build(name, 1);
    }

    /** A fresh graph of the named model at batch {@code batch} (at least 1), with the weights of batch 1. */
    public static Graph build(String name, int batch) {
        IntFunction<Graph> f = MODELS.get(name);
        if (f == null)
            throw new KilnException("unknown zoo model '" + name + "'; the zoo has " + String.join(", ", NAMES));
        if (batch < 1) throw new KilnException("zoo model '" + name + "': the batch must be at least 1, not " + batch);
        return f.apply(batch);
    }

    /** The named model at batch 1 as a serialized ONNX file, built once per JVM; do not modify the array. */
    public static byte[] onnxBytes(String name) {
        byte[] b = BYTES.get(name);
        if (b == null) {
            b = OnnxWriter.write(build(name), OnnxWriter.IR_VERSION);
            BYTES.putIfAbsent(name, b);
        }
        return b;
    }
}
