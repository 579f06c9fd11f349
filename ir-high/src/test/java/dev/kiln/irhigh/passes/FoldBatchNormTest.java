package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.GraphBuilder;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FoldBatchNormTest {
    private static final Random R = new Random(7);

    private static Tensor random(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextGaussian());
    }

    /** Positive values (BN variances and scales). */
    private static Tensor positive(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> 0.5 + R.nextDouble());
    }

    private static GraphBuilder bnParams(GraphBuilder b, String p, int c) {
        return b.init(p + "s", positive(c)).init(p + "b", random(c)).init(p + "m", random(c)).init(p + "v", positive(c));
    }

    private static List<String> bnInputs(String x, String p) {
        return List.of(x, p + "s", p + "b", p + "m", p + "v");
    }

    /** A ResNet basic block: conv-bn-relu, conv-bn (first conv with a bias), add the input, relu. */
    private static Graph resnetBlock() {
        GraphBuilder b = new GraphBuilder("block").input("x", DType.FLOAT32, 1, 4, 6, 6)
                .init("w1", random(4, 4, 3, 3)).init("c1", random(4)).init("w2", random(4, 4, 3, 3));
        bnParams(b, "bn1", 4);
        bnParams(b, "bn2", 4);
        return b.node("Conv", List.of("x", "w1", "c1"), List.of("a"), "pads", new int[] {1, 1, 1, 1})
                .node("BatchNormalization", bnInputs("a", "bn1"), List.of("b"), "epsilon", 1e-3f)
                .node("Relu", List.of("b"), List.of("r"))
                .node("Conv", List.of("r", "w2"), List.of("c"), "pads", new int[] {1, 1, 1, 1})
                .node("BatchNormalization", bnInputs("c", "bn2"), List.of("d"))
                .node("Add", List.of("d", "x"), List.of("e"))
                .node("Relu", List.of("e"), List.of("y"))
                .output("y").build();
    }

    private static void assertClose(Tensor expected, Tensor actual) {
        assertEquals(expected.shape(), actual.shape());
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.getDouble(i), a = actual.getDouble(i);
            assertTrue(Math.abs(e - a) <= 1e-5 * Math.max(1, Math.abs(e)), "element " + i + ": " + e + " vs " + a);
        }
    }

    private static long count(Graph g, String op) {
        return g.nodes().stream().filter(n -> n.op().equals(op)).count();
    }

    @Test
    void foldsEveryBatchNormOfAResnetBlockIntoItsConv() {
        Graph g = resnetBlock();
        Map<String, Tensor> in = Map.of("x", random(1, 4, 6, 6));
        Tensor before = Evaluator.run(g, in).get("y");

        assertEquals(2, FoldBatchNorm.run(g));
        ShapeInference.run(g);

        assertEquals(0, count(g, "BatchNormalization"));
        assertEquals(List.of("Conv", "Relu", "Conv", "Add", "Relu"), g.nodes().stream().map(Node::op).toList());
        assertTrue(g.nodes().get(2).hasInput(2), "the second conv gained a bias");
        assertTrue(g.initializers().keySet().stream().noneMatch(k -> k.startsWith("bn")), "BN parameters are dropped");
        assertClose(before, Evaluator.run(g, in).get("y"));
    }

    @Test
    void keepsABatchNormWhoseConvOutputIsAlsoReadElsewhere() {
        GraphBuilder b = new GraphBuilder("shared").input("x", DType.FLOAT32, 1, 2, 4, 4).init("w", random(2, 2, 1, 1));
        bnParams(b, "bn", 2);
        Graph g = b.node("Conv", List.of("x", "w"), List.of("a"))
                .node("BatchNormalization", bnInputs("a", "bn"), List.of("b"))
                .node("Add", List.of("a", "b"), List.of("y"))
                .output("y").build();
        assertEquals(0, FoldBatchNorm.run(g));
        assertEquals(1, count(g, "BatchNormalization"));
    }

    @Test
    void keepsABatchNormWithRunTimeParameters() {
        GraphBuilder b = new GraphBuilder("runtime").input("x", DType.FLOAT32, 1, 2, 4, 4).input("bns", DType.FLOAT32, 2)
                .init("w", random(2, 2, 1, 1)).init("bnb", random(2)).init("bnm", random(2)).init("bnv", positive(2));
        Graph g = b.node("Conv", List.of("x", "w"), List.of("a"))
                .node("BatchNormalization", List.of("a", "bns", "bnb", "bnm", "bnv"), List.of("y"))
                .output("y").build();
        assertEquals(0, FoldBatchNorm.run(g));
    }

    @Test
    void foldsDepthwiseConv() {
        GraphBuilder b = new GraphBuilder("dw").input("x", DType.FLOAT32, 1, 3, 5, 5).init("w", random(3, 1, 3, 3));
        bnParams(b, "bn", 3);
        Graph g = b.node("Conv", List.of("x", "w"), List.of("a"), "group", 3, "strides", new int[] {2, 2})
                .node("BatchNormalization", bnInputs("a", "bn"), List.of("y"))
                .output("y").build();
        Map<String, Tensor> in = Map.of("x", random(1, 3, 5, 5));
        Tensor before = Evaluator.run(g, in).get("y");
        assertEquals(1, FoldBatchNorm.run(g));
        ShapeInference.run(g);
        assertClose(before, Evaluator.run(g, in).get("y"));
    }

    @Test
    void foldsGemmWithTransposedWeightsAndBias() {
        GraphBuilder b = new GraphBuilder("gemm").input("x", DType.FLOAT32, 3, 5).init("w", random(4, 5)).init("c", random(4));
        bnParams(b, "bn", 4);
        Graph g = b.node("Gemm", List.of("x", "w", "c"), List.of("a"), "transB", 1, "beta", 0.5f, "alpha", 2f)
                .node("BatchNormalization", bnInputs("a", "bn"), List.of("y"))
                .output("y").build();
        Map<String, Tensor> in = Map.of("x", random(3, 5));
        Tensor before = Evaluator.run(g, in).get("y");
        assertEquals(1, FoldBatchNorm.run(g));
        ShapeInference.run(g);
        assertEquals(List.of("Gemm"), g.nodes().stream().map(Node::op).toList());
        assertClose(before, Evaluator.run(g, in).get("y"));
    }

    @Test
    void foldsMatMulOfMatricesIntoAGemmWithBias() {
        GraphBuilder b = new GraphBuilder("matmul").input("x", DType.FLOAT32, 3, 5).init("w", random(5, 4));
        bnParams(b, "bn", 4);
        Graph g = b.node("MatMul", List.of("x", "w"), List.of("a"))
                .node("BatchNormalization", bnInputs("a", "bn"), List.of("y"))
                .output("y").build();
        ShapeInference.run(g);
        Map<String, Tensor> in = Map.of("x", random(3, 5));
        Tensor before = Evaluator.run(g, in).get("y");
        assertEquals(1, FoldBatchNorm.run(g));
        ShapeInference.run(g);
        assertEquals(List.of("Gemm"), g.nodes().stream().map(Node::op).toList());
        assertClose(before, Evaluator.run(g, in).get("y"));
    }
}
