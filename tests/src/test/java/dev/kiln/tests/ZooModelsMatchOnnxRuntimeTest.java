package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compare;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Correctness: each zoo model compiled by the full native pipeline gives ONNX Runtime's outputs
 * on random inputs, within |a-b| <= 1e-4 + 1e-3|b|, at one and at two threads.
 */
class ZooModelsMatchOnnxRuntimeTest {

    @ParameterizedTest(name = "{0} at {1} thread(s)")
    @CsvSource({"mlp,1", "mlp,2", "resnet18,1", "resnet18,2", "mobilenetv2,1", "mobilenetv2,2", "bert,1", "bert,2"})
    void outputsMatch(String model, int threads) {
        var compiled = CompiledZoo.get(model);
        try (KilnLibrary kiln = new KilnLibrary(compiled.library(), threads);
             OrtModel ort = new OrtModel(Zoo.onnxBytes(model), 1)) {
            for (long seed = 1; seed <= 2; seed++) {
                Map<String, Tensor> inputs = kiln.randomInputs(seed);
                Map<String, Tensor> expected = ort.run(inputs);
                Map<String, Tensor> actual = kiln.run(inputs);
                assertEquals(expected.keySet(), actual.keySet(), "output names");
                for (var e : expected.entrySet()) {
                    Tensor ref = e.getValue();
                    Compare c = Compare.of(actual.get(e.getKey()), ref, 1e-4, 1e-3);
                    assertTrue(c.ok(), model + " output " + e.getKey() + " (seed " + seed + "): " + c.detail());
                    assertTrue(spread(ref) > 1e-3, "the reference output of " + model + " is nearly constant: the check would prove little");
                }
            }
        }
    }

    private static double spread(Tensor t) {
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (int i = 0; i < t.size(); i++) {
            min = Math.min(min, t.getDouble(i));
            max = Math.max(max, t.getDouble(i));
        }
        return max - min;
    }
}
