package dev.kiln.tests;


import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * GridSample in every mode, padding and alignment, with grid points up to 1.6 times outside the
 * normalized range (so that border clamping and repeated reflection are exercised): the native
 * library and the reference evaluator both give ONNX Runtime's outputs.
 */
class GridSampleMatchesOnnxRuntimeTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1} align_corners={2}")
    @CsvSource({"bilinear,zeros,0", "bilinear,reflection,1", "nearest,border,0", "nearest,reflection,0", "bicubic,border,1",
                "bicubic,reflection,0", "bicubic,zeros,1"})
    void matchesOnnxRuntime(String mode, String padding, int align) throws Exception {
        String name = mode + "_" + padding + "_" + align;
        Graph g = new Graph(name);
        g.opsets().put("", 16);
        Value x = new Value("x", DType.FLOAT32, new Shape(2, 3, 5, 7)), grid = new Value("grid", DType.FLOAT32, new Shape(2, 4, 6, 2));
        g.inputs().addAll(List.of(x, grid));
        g.values().put("x", x);
        g.values().put("grid", grid);
        g.setNodes(List.of(new Node("gs", "GridSample", "", List.of("x", "grid"), List.of("y"),
                Map.of("mode", new Attr.Str(mode), "padding_mode", new Attr.Str(padding), "align_corners", new Attr.Int(align)), 16)));
        g.outputs().add("y");
        SplittableRandom rng = new SplittableRandom(11);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        inputs.put("x", Tensor.generate(DType.FLOAT32, x.shape(), i -> rng.nextDouble(-1, 1)));
        inputs.put("grid", Tensor.generate(DType.FLOAT32, grid.shape(), i -> rng.nextDouble(-1.6, 1.6)));
        OrtCheck.matches(dir, g, inputs, 1e-5, 1e-4);
    }
}
