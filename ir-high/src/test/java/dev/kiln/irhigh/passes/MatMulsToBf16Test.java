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
import dev.kiln.irhigh.ops.Bf16MatMul;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Float MatMuls and Gemms with constant weights become {@link Bf16MatMul} (a bias Add folded in, Gemm's
 * transposed weight transposed, beta applied); what it cannot take stays float. The evaluator then
 * gives the float result within bf16's error: 2^-8 of the sum of |products| (see Bf16MatMulOpsTest).
 */
class MatMulsToBf16Test {
    private static final Random R = new Random(23);

    private static Tensor rand(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextDouble() * 2 - 1);
    }

    private static long count(Graph g, String op) {
        return g.nodes().stream().filter(n -> n.op().equals(op)).count();
    }

    private static void closeAfter(Graph g, int m, int k) {
        Map<String, Tensor> feed = Map.of("x", rand(m, k));
        ShapeInference.run(g);
        Map<String, Tensor> before = Evaluator.run(g, feed);
        assertTrue(MatMulsToBf16.run(g) > 0);
        ShapeInference.run(g);
        Map<String, Tensor> after = Evaluator.run(g, feed);
        for (String o : g.outputs()) {
            float[] want = before.get(o).floats(), got = after.get(o).floats();
            assertEquals(want.length, got.length);
            for (int i = 0; i < want.length; i++)
                assertTrue(Math.abs(want[i] - got[i]) <= 0x1p-8 * k + 1e-6, o + "[" + i + "]: " + got[i] + " vs " + want[i]);
        }
    }

    @Test
    void matMulWithItsBiasAddBecomesOneNode() {
        Graph g = new GraphBuilder("mlp").input("x", DType.FLOAT32, 5, 33).init("w", rand(33, 21)).init("b", rand(21))
                .node("MatMul", List.of("x", "w"), List.of("h")).node("Add", List.of("b", "h"), List.of("y")).output("y").build();
        closeAfter(g, 5, 33);
        assertEquals(List.of(Bf16MatMul.OP), g.nodes().stream().map(Node::op).toList());
        assertEquals(3, g.nodes().getFirst().inputs().size(), "the bias is the third input");
    }

    @Test
    void gemmWithTransposedWeightAndBeta() {
        Graph g = new GraphBuilder("gemm").input("x", DType.FLOAT32, 3, 17).init("w", rand(9, 17)).init("c", rand(9))
                .node("Gemm", List.of("x", "w", "c"), List.of("y"), "transB", 1, "beta", 0.5f).output("y").build();
        closeAfter(g, 3, 17);
        assertEquals(1, count(g, Bf16MatMul.OP));
        assertEquals(17, g.value(g.nodes().getFirst().input(1)).shape().dim(0), "the weight is [K, N] after transposing");
    }

    @Test
    void whatItCannotTakeStaysFloat() {
        // A product of two activations, a Gemm with alpha, a bias read twice (the MatMul stays whole, without it).
        Graph g = new GraphBuilder("rest").input("x", DType.FLOAT32, 4, 8).input("z", DType.FLOAT32, 8, 4).init("w", rand(8, 8)).init("b", rand(8))
                .node("MatMul", List.of("x", "z"), List.of("p"))
                .node("Gemm", List.of("x", "w"), List.of("q"), "alpha", 2f)
                .node("MatMul", List.of("x", "w"), List.of("h")).node("Add", List.of("h", "b"), List.of("r")).node("Relu", List.of("h"), List.of("s"))
                .output("p").output("q").output("r").output("s").build();
        ShapeInference.run(g);
        assertEquals(1, MatMulsToBf16.run(g));
        assertEquals(1, count(g, "MatMul"));
        assertEquals(1, count(g, "Gemm"));
        assertEquals(1, count(g, "Add"), "h has two readers: the Add stays");
        assertEquals(2, g.nodes().stream().filter(n -> n.op().equals(Bf16MatMul.OP)).findFirst().orElseThrow().inputs().size());
    }
}
