package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

/**
 * QDQ MatMul and Gemm folded into MatMulInteger and a scale: the reference evaluator gives the float
 * product of the dequantized values, up to float rounding.
 */
class FoldQdqMatMulsTest {
    private static final Random R = new Random(11);

    private static Tensor bytes(DType t, int... dims) {
        return Tensor.generate(t, new Shape(dims), i -> t == DType.UINT8 ? R.nextInt(256) : R.nextInt(255) - 127);
    }

    /** x (float) -> Q -> DQ -> op(., DQ(w)) [+ c]; w int8 [K, N] or, transposed, [N, K]. */
    private static Graph model(String op, boolean transB, boolean perColumn, int m, int k, int n) {
        int rows = transB ? n : k, cols = transB ? k : n;
        float[] sb = new float[perColumn ? n : 1];
        for (int i = 0; i < sb.length; i++) sb[i] = 0.001f + R.nextFloat() * 0.01f;
        GraphBuilder b = new GraphBuilder("qdq").input("x", DType.FLOAT32, m, k)
                .init("sx", Tensor.ofFloats(Shape.of(), 0.0173f)).init("zx", Tensor.generate(DType.UINT8, Shape.of(), i -> 121))
                .init("w", bytes(DType.INT8, rows, cols))
                .init("sw", perColumn ? Tensor.ofFloats(new Shape(n), sb) : Tensor.ofFloats(Shape.of(), sb))
                .init("zw", perColumn ? Tensor.zeros(DType.INT8, new Shape(n)) : Tensor.zeros(DType.INT8, Shape.of()))
                .node("QuantizeLinear", List.of("x", "sx", "zx"), List.of("xq"))
                .node("DequantizeLinear", List.of("xq", "sx", "zx"), List.of("xd"))
                .node("DequantizeLinear", List.of("w", "sw", "zw"), List.of("wd"), "axis", transB ? 0 : 1);
        if (op.equals("Gemm")) {
            float[] c = new float[n];
            for (int i = 0; i < n; i++) c[i] = R.nextFloat() - 0.5f;
            b.init("c", Tensor.ofFloats(new Shape(n), c)).node("Gemm", List.of("xd", "wd", "c"), List.of("y"), "transB", transB ? 1 : 0, "alpha", 0.5f,
                    "beta", 2f);
        } else {
            b.node("MatMul", List.of("xd", "wd"), List.of("y"));
        }
        return b.output("y").build();
    }

    private static void check(String op, boolean transB, boolean perColumn) {
        Graph g = model(op, transB, perColumn, 7, 53, 19);
        float[] x = new float[7 * 53];
        for (int i = 0; i < x.length; i++) x[i] = (float) (R.nextGaussian() * 1.5);
        Map<String, Tensor> feed = Map.of("x", Tensor.ofFloats(new Shape(7, 53), x));
        Tensor before = Evaluator.run(g, feed).get("y");
        ShapeInference.run(g);
        assertEquals(1, FoldQdqMatMuls.run(g), op);
        ShapeInference.run(g);
        List<String> ops = g.nodes().stream().map(Node::op).toList();
        assertTrue(ops.contains("MatMulInteger"), ops.toString());
        assertFalse(ops.contains("DequantizeLinear"), "the dequantizations are gone: " + ops);
        assertFalse(g.initializers().containsKey("sw"), "the weight's float scale is no longer a constant of the graph");
        Tensor after = Evaluator.run(g, feed).get("y");
        assertEquals(before.shape(), after.shape());
        for (int i = 0; i < before.size(); i++) {
            double a = before.getDouble(i), f = after.getDouble(i);
            assertEquals(a, f, 1e-5 * Math.max(1, Math.abs(a)), op + " element " + i);
        }
    }

    @Test
    void matMulPerTensor() {
        check("MatMul", false, false);
    }

    @Test
    void matMulPerColumn() {
        check("MatMul", false, true);
    }

    @Test
    void gemmWithTransposedWeightsAlphaBetaAndBias() {
        check("Gemm", true, true);
    }

    @Test
    void activationTimesActivationStaysFloat() {
        Graph g = new GraphBuilder("aa").input("a", DType.UINT8, 4, 8).input("b", DType.UINT8, 8, 3)
                .init("s", Tensor.ofFloats(Shape.of(), 0.1f)).init("z", Tensor.generate(DType.UINT8, Shape.of(), i -> 3))
                .node("DequantizeLinear", List.of("a", "s", "z"), List.of("ad")).node("DequantizeLinear", List.of("b", "s", "z"), List.of("bd"))
                .node("MatMul", List.of("ad", "bd"), List.of("y")).output("y").build();
        ShapeInference.run(g);
        assertEquals(0, FoldQdqMatMuls.run(g), "no constant weight: nothing to keep in bytes");
    }
}
