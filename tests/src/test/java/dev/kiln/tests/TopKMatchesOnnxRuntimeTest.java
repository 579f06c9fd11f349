package dev.kiln.tests;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * TopK on long axes with many ties (values drawn from 10 levels), the last axis and a middle one,
 * largest and smallest: the native library (the heap kernel) and the reference evaluator give
 * ONNX Runtime's values and indices exactly, ties by lower position first.
 */
class TopKMatchesOnnxRuntimeTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "shape={0} axis={1} k={2} largest={3}")
    @CsvSource({"3x5000, -1, 7, 1", "3x5000, -1, 7, 0", "4x600x3, 1, 40, 1", "4x600x3, 1, 40, 0", "2x300, 1, 300, 1"})
    void matchesOnnxRuntime(String shape, long axis, long k, long largest) throws Exception {
        int[] dims = java.util.Arrays.stream(shape.split("x")).mapToInt(Integer::parseInt).toArray();
        Graph g = new Graph("topk_" + shape + "_" + k + "_" + largest);
        g.opsets().put("", 13);
        Value x = new Value("x", DType.FLOAT32, new Shape(dims));
        g.inputs().add(x);
        g.values().put("x", x);
        g.initializers().put("k", Tensor.ofLongs(new Shape(1), k));
        g.setNodes(List.of(new Node("topk", "TopK", "", List.of("x", "k"), List.of("values", "indices"),
                Map.of("axis", new Attr.Int(axis), "largest", new Attr.Int(largest)), 13)));
        g.outputs().addAll(List.of("values", "indices"));
        SplittableRandom rng = new SplittableRandom(23);
        Tensor t = Tensor.generate(DType.FLOAT32, x.shape(), i -> rng.nextInt(10) - 5);
        OrtCheck.matches(dir, g, Map.of("x", t), 0, 0);
    }
}
