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

    /** MaxPool then MaxUnpool (a SegNet decoder), to the unpooled shape and to a larger output_shape. */
    @ParameterizedTest(name = "output_shape={0}")
    @ValueSource(booleans = {false, true})
    void unpoolsWhatMaxPoolPicked(boolean explicit) throws Exception {
        Graph g = new Graph("maxunpool_" + explicit);
        g.opsets().put("", 12);
        Value x = new Value("x", DType.FLOAT32, new Shape(2, 3, 8, 6));
        g.inputs().add(x);
        g.values().put("x", x);
        Map<String, Attr> pool = Map.of("kernel_shape", new Attr.Ints(new long[] {2, 2}), "strides", new Attr.Ints(new long[] {2, 2}));
        List<String> unpoolInputs = explicit ? List.of("y", "i", "shape") : List.of("y", "i");
        if (explicit) g.initializers().put("shape", Tensor.ofLongs(new Shape(4), 2, 3, 9, 7));
        g.setNodes(List.of(new Node("pool", "MaxPool", "", List.of("x"), List.of("y", "i"), pool, 12),
                new Node("unpool", "MaxUnpool", "", unpoolInputs, List.of("z"), pool, 12)));
        g.outputs().add("z");
        SplittableRandom rng = new SplittableRandom(23);
        OrtCheck.matches(dir, g, Map.of("x", Tensor.generate(DType.FLOAT32, x.shape(), k -> rng.nextDouble(-1, 1))), 0, 0);
    }
}
