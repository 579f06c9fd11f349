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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * MaxPool's Indices output with overlapping, padded, strided windows and many ties (values
 * drawn from 5 levels), in both storage orders: the native library and the reference evaluator
 * give ONNX Runtime's values and indices.
 */
class MaxPoolIndicesMatchOnnxRuntimeTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "storage_order={0}")
    @ValueSource(ints = {0, 1})
    void matchesOnnxRuntime(int order) throws Exception {
        Graph g = new Graph("maxpool_indices_" + order);
        g.opsets().put("", 12);
        Value x = new Value("x", DType.FLOAT32, new Shape(2, 3, 9, 7));
        g.inputs().add(x);
        g.values().put("x", x);
        g.setNodes(List.of(new Node("pool", "MaxPool", "", List.of("x"), List.of("y", "i"),
                Map.of("kernel_shape", new Attr.Ints(new long[] {3, 3}), "strides", new Attr.Ints(new long[] {2, 1}),
                        "pads", new Attr.Ints(new long[] {1, 1, 1, 0}), "storage_order", new Attr.Int(order)), 12)));
        g.outputs().addAll(List.of("y", "i"));
        SplittableRandom rng = new SplittableRandom(19);
        Tensor t = Tensor.generate(DType.FLOAT32, x.shape(), k -> rng.nextInt(5) - 2);
        OrtCheck.matches(dir, g, Map.of("x", t), 0, 0);
    }
}
