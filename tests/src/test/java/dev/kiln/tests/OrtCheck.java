package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A small model checked three ways: the native library and the reference evaluator against ONNX Runtime. */
final class OrtCheck {
    private OrtCheck() {}

    /**
     * Writes {@code g} as ONNX under {@code dir}, compiles it for the host, and asserts that every
     * output of the library and of the reference evaluator is within {@code atol + rtol|b|} of
     * ONNX Runtime's on {@code inputs} (null: the library's random inputs).
     */
    static void matches(Path dir, Graph g, Map<String, Tensor> inputs, double atol, double rtol) throws IOException {
        matches(dir, g, inputs, atol, rtol, Target.host());
    }

    /** As above, compiled for {@code target} (one this machine runs). */
    static void matches(Path dir, Graph g, Map<String, Tensor> inputs, double atol, double rtol, Target target) throws IOException {
        ShapeInference.run(g);
        byte[] onnx = OnnxWriter.write(g, OnnxWriter.IR_VERSION);
        Path file = dir.resolve(g.name() + ".onnx"), so = dir.resolve(g.name() + "-" + target.name() + ".so");
        Files.write(file, onnx);
        Compiler.compile(file.toString(), so, new Compiler.Options(target, Map.of(), null, false));
        try (KilnLibrary kiln = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(onnx, 1)) {
            Map<String, Tensor> feed = inputs != null ? inputs : kiln.randomInputs(5);
            Map<String, Tensor> expected = ort.run(feed), actual = kiln.run(feed), reference = Evaluator.run(g, feed);
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(actual.get(e.getKey()), e.getValue(), atol, rtol);
                assertTrue(c.ok(), g.name() + ": native output " + e.getKey() + ": " + c.detail());
                Compare r = Compare.of(reference.get(e.getKey()), e.getValue(), atol, rtol);
                assertTrue(r.ok(), g.name() + ": reference evaluator's output " + e.getKey() + ": " + r.detail());
            }
        }
    }
}
