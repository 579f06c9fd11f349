package dev.kiln.irhigh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EvaluatorTest {
    private static final Random R = new Random(5);
    private static final Tensor W1 = rand(8, 4), B1 = rand(8), W2 = rand(8, 3), B2 = rand(3);

    private static Tensor rand(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextGaussian());
    }

    /** x[2,4] -> Gemm(W1^T, b1) -> Relu -> MatMul(W2) -> Add(b2) -> Softmax. */
    private static Graph mlp() {
        return new GraphBuilder("mlp")
                .input("x", DType.FLOAT32, 2, 4)
                .init("w1", W1).init("b1", B1).init("w2", W2).init("b2", B2)
                .node("Gemm", List.of("x", "w1", "b1"), List.of("h"), "transB", 1)
                .node("Relu", List.of("h"), List.of("r"))
                .node("MatMul", List.of("r", "w2"), List.of("m"))
                .node("Add", List.of("m", "b2"), List.of("logits"))
                .node("Softmax", List.of("logits"), List.of("p"))
                .output("p", "logits")
                .build();
    }

    @Test
    void runsAnMlpLikeAPlainForwardPass() {
        Graph g = mlp();
        ShapeInference.run(g);
        Tensor x = rand(2, 4);
        Map<String, Tensor> out = Evaluator.run(g, Map.of("x", x));
        assertEquals(List.of("p", "logits"), List.copyOf(out.keySet()));
        float[] p = out.get("p").floats();
        for (int b = 0; b < 2; b++) {
            double[] logits = new double[3];
            for (int o = 0; o < 3; o++) {
                double acc = 0;
                for (int h = 0; h < 8; h++) {
                    double hv = B1.floats()[h];
                    for (int i = 0; i < 4; i++) hv += (double) x.floats()[b * 4 + i] * W1.floats()[h * 4 + i];
                    acc += Math.max(0, (float) hv) * (double) W2.floats()[h * 3 + o];
                }
                logits[o] = (float) acc + B2.floats()[o];
            }
            double sum = 0;
            for (double l : logits) sum += Math.exp(l);
            for (int o = 0; o < 3; o++) assertEquals(Math.exp(logits[o]) / sum, p[b * 3 + o], 1e-6);
        }
        Map<String, Tensor> hidden = Evaluator.run(g, Map.of("x", x), List.of("r", "w1"));
        assertEquals(new Shape(2, 8), hidden.get("r").shape());
        assertArrayEquals(W1.floats(), hidden.get("w1").floats());
    }

    @Test
    void checksInputs() {
        Graph g = mlp();
        String m = assertThrows(KilnException.class, () -> Evaluator.run(g, Map.of())).getMessage();
        assertEquals("missing input 'x' (float32[2,4]) for graph 'mlp'", m);
        m = assertThrows(KilnException.class, () -> Evaluator.run(g, Map.of("x", rand(4, 2)))).getMessage();
        assertEquals("input 'x' of graph 'mlp' must be float32[2,4] but a float32[4,2] tensor was given", m);
        m = assertThrows(KilnException.class, () -> Evaluator.run(g, Map.of("x", Tensor.zeros(DType.FLOAT64, new Shape(2, 4))))).getMessage();
        assertTrue(m.contains("must be float32[2,4] but a float64[2,4]"), m);
        m = assertThrows(KilnException.class, () -> Evaluator.run(g, Map.of("x", rand(2, 4), "y", rand(1)))).getMessage();
        assertTrue(m.startsWith("'y' is not an input of graph 'mlp'"), m);
    }

    @Test
    void catchesAResultThatContradictsShapeInference() {
        Graph g = mlp();
        ShapeInference.run(g);
        g.values().put("r", new Value("r", DType.FLOAT32, new Shape(8, 2)));
        String m = assertThrows(KilnException.class, () -> Evaluator.run(g, Map.of("x", rand(2, 4)))).getMessage();
        assertTrue(m.contains("output 'r' was inferred as float32[8,2] but evaluates to float32[2,8]"), m);
    }
}
