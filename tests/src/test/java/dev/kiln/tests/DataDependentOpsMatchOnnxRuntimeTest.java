package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compiler;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.targets.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ops whose output lengths depend on the data (NonZero, NonMaxSuppression, Unique), on inputs
 * large enough to exercise the kernels' sorting and many duplicates: the library returns each
 * output at its actual shape (read from its companion shape output), checked with the reference
 * evaluator against ONNX Runtime. A node that reads such an output is refused with advice.
 */
class DataDependentOpsMatchOnnxRuntimeTest {
    @TempDir
    Path dir;

    private static Graph graph(String name, int opset, List<Value> inputs, Node node, List<String> outputs) {
        Graph g = new Graph(name);
        g.opsets().put("", opset);
        for (Value v : inputs) {
            g.inputs().add(v);
            g.values().put(v.name(), v);
        }
        g.setNodes(List.of(node));
        g.outputs().addAll(outputs);
        return g;
    }

    @Test
    void nonMaxSuppressionOnManyOverlappingBoxes() throws Exception {
        SplittableRandom rng = new SplittableRandom(3);
        int batches = 2, boxes = 300, classes = 3;
        for (int center = 0; center <= 1; center++) {
            Value b = new Value("boxes", DType.FLOAT32, new Shape(batches, boxes, 4)), s = new Value("scores", DType.FLOAT32, new Shape(batches, classes, boxes));
            Value iou = new Value("iou", DType.FLOAT32, new Shape(1)), thr = new Value("score_threshold", DType.FLOAT32, new Shape(1));
            Node nms = new Node("nms", "NonMaxSuppression", "", List.of("boxes", "scores", "max", "iou", "score_threshold"), List.of("selected"),
                    Map.of("center_point_box", new Attr.Int(center)), 11);
            Graph g = graph("nms" + center, 11, List.of(b, s, iou, thr), nms, List.of("selected"));
            g.initializers().put("max", Tensor.ofLongs(new Shape(1), 40));
            // Boxes of sizes 0.05-0.3 in a unit square, so many overlap; a few flipped or empty ones.
            Tensor bt = Tensor.generate(DType.FLOAT32, b.shape(), i -> rng.nextDouble(0, 1));
            for (int k = 0; k < batches * boxes; k++) {
                double x = rng.nextDouble(), y = rng.nextDouble(), w = rng.nextDouble(0.05, 0.3), h = rng.nextDouble(0.05, 0.3);
                if (k % 37 == 0) w = 0;
                double[] v = center == 1 ? new double[] {x, y, w, h} : k % 5 == 0 ? new double[] {y + h, x + w, y, x} : new double[] {y, x, y + h, x + w};
                for (int j = 0; j < 4; j++) bt.setDouble(4 * k + j, v[j]);
            }
            Map<String, Tensor> feed = new LinkedHashMap<>();
            feed.put("boxes", bt);
            feed.put("scores", Tensor.generate(DType.FLOAT32, s.shape(), i -> rng.nextDouble()));
            feed.put("iou", Tensor.ofFloats(new Shape(1), 0.3f));
            feed.put("score_threshold", Tensor.ofFloats(new Shape(1), 0.2f));
            OrtCheck.matches(dir, g, feed, 0, 0);
        }
    }

    @Test
    void nonZeroOfASparseTensor() throws Exception {
        SplittableRandom rng = new SplittableRandom(5);
        Value x = new Value("x", DType.FLOAT32, new Shape(3, 40, 50));
        Graph g = graph("nonzero", 13, List.of(x), new Node("nz", "NonZero", "", List.of("x"), List.of("y"), Map.of(), 13), List.of("y"));
        Tensor t = Tensor.generate(DType.FLOAT32, x.shape(), i -> rng.nextInt(10) < 7 ? 0 : rng.nextDouble(-1, 1));
        OrtCheck.matches(dir, g, Map.of("x", t), 0, 0);
    }

    @Test
    void emptyResultsComeBackEmpty() throws Exception {
        Value x = new Value("x", DType.FLOAT32, new Shape(4, 5));
        Graph nz = graph("nonzero_none", 13, List.of(x), new Node("nz", "NonZero", "", List.of("x"), List.of("y"), Map.of(), 13), List.of("y"));
        OrtCheck.matches(dir, nz, Map.of("x", Tensor.zeros(DType.FLOAT32, x.shape())), 0, 0);
        Value b = new Value("boxes", DType.FLOAT32, new Shape(1, 6, 4)), s = new Value("scores", DType.FLOAT32, new Shape(1, 2, 6));
        Graph g = graph("nms_none", 11, List.of(b, s), new Node("nms", "NonMaxSuppression", "", List.of("boxes", "scores", "max", "iou", "thr"),
                List.of("selected"), Map.of(), 11), List.of("selected"));
        g.initializers().put("max", Tensor.ofLongs(new Shape(1), 3));
        g.initializers().put("iou", Tensor.ofFloats(new Shape(1), 0.5f));
        g.initializers().put("thr", Tensor.ofFloats(new Shape(1), 2f)); // above every score: nothing selected
        SplittableRandom rng = new SplittableRandom(9);
        OrtCheck.matches(dir, g, Map.of("boxes", Tensor.generate(DType.FLOAT32, b.shape(), i -> rng.nextDouble()),
                "scores", Tensor.generate(DType.FLOAT32, s.shape(), i -> rng.nextDouble())), 0, 0);
        Value one = new Value("x", DType.INT64, new Shape(1));
        Graph u = graph("unique_one", 11, List.of(one), new Node("u", "Unique", "", List.of("x"), List.of("y", "i", "inv", "c"), Map.of(), 11),
                List.of("y", "i", "inv", "c"));
        OrtCheck.matches(dir, u, Map.of("x", Tensor.ofLongs(new Shape(1), 7)), 0, 0);
    }

    @Test
    void uniqueWithManyDuplicates() throws Exception {
        SplittableRandom rng = new SplittableRandom(7);
        for (int sorted = 0; sorted <= 1; sorted++) {
            Value x = new Value("x", DType.INT64, new Shape(2000));
            Node u = new Node("u", "Unique", "", List.of("x"), List.of("y", "indices", "inverse", "counts"), Map.of("sorted", new Attr.Int(sorted)), 11);
            Graph g = graph("unique" + sorted, 11, List.of(x), u, List.of("y", "indices", "inverse", "counts"));
            Tensor t = Tensor.generate(DType.INT64, x.shape(), i -> rng.nextInt(-25, 25));
            OrtCheck.matches(dir, g, Map.of("x", t), 0, 0);
        }
        Value x = new Value("x", DType.FLOAT32, new Shape(2, 500, 3));
        Node u = new Node("u", "Unique", "", List.of("x"), List.of("y", "indices", "inverse", "counts"), Map.of("axis", new Attr.Int(1)), 11);
        Graph g = graph("unique_axis", 11, List.of(x), u, List.of("y", "indices", "inverse", "counts"));
        Tensor t = Tensor.generate(DType.FLOAT32, x.shape(), i -> rng.nextInt(2) - 0.5);
        OrtCheck.matches(dir, g, Map.of("x", t), 0, 0);
    }

    @Test
    void aNodeReadingADataDependentOutputIsRefused() throws Exception {
        Value x = new Value("x", DType.FLOAT32, new Shape(4, 5));
        Graph g = graph("nonzero_consumed", 13, List.of(x), new Node("nz", "NonZero", "", List.of("x"), List.of("nz_out"), Map.of(), 13),
                List.of("t"));
        g.setNodes(List.of(g.nodes().getFirst(), new Node("tr", "Transpose", "", List.of("nz_out"), List.of("t"), Map.of(), 13)));
        dev.kiln.irhigh.ShapeInference.run(g);
        Path file = dir.resolve("consumed.onnx");
        Files.write(file, OnnxWriter.write(g, OnnxWriter.IR_VERSION));
        KilnException e = assertThrows(KilnException.class, () -> Compiler.compile(file.toString(), dir.resolve("consumed.so"),
                new Compiler.Options(Target.host(), Map.of(), null, false)));
        assertTrue(e.getMessage().contains("'nz_out' has a length known only at run time") && e.getMessage().contains("node 'tr'"),
                e.getMessage());
    }
}
