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
import dev.kiln.irhigh.ops.Quantize;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The quantized products rewritten into Cast, Sub, MatMul/Conv and QuantizeLinear: the reference evaluator gives identical outputs. */
class DecomposeQuantizedProductsTest {
    private static final Random R = new Random(3);

    private static Tensor random(DType t, int... dims) {
        long[] range = Quantize.range(t);
        return Tensor.generate(t, new Shape(dims), i -> range[0] + R.nextInt((int) (range[1] - range[0] + 1)));
    }

    private static Tensor scales(int n, float base) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = base * (0.5f + R.nextFloat());
        return Tensor.ofFloats(n == 1 ? new Shape() : new Shape(n), v);
    }

    /**
     * {@code op(inputs...)}: the tensors named in {@code runTime} are graph inputs, the others constants.
     * Checks the rewritten graph gives exactly the original's output; returns the new ops.
     */
    private static List<String> check(String op, Map<String, Tensor> ins, List<String> runTime, Object... attrs) {
        return check(false, op, ins, runTime, attrs);
    }

    /** As above, with the native int8 MatMul allowed when {@code int8Kernel}. */
    private static List<String> check(boolean int8Kernel, String op, Map<String, Tensor> ins, List<String> runTime, Object... attrs) {
        GraphBuilder b = new GraphBuilder("q");
        Map<String, Tensor> feed = new LinkedHashMap<>();
        for (var e : ins.entrySet()) {
            if (e.getValue() == null) continue;
            if (runTime.contains(e.getKey())) {
                b.input(e.getKey(), e.getValue().dtype(), e.getValue().shape().dims());
                feed.put(e.getKey(), e.getValue());
            } else {
                b.init(e.getKey(), e.getValue());
            }
        }
        List<String> names = new ArrayList<>();
        for (var e : ins.entrySet()) names.add(e.getValue() == null ? "" : e.getKey());
        Graph g = b.node(op, names, List.of("y"), attrs).output("y").build();
        Tensor before = Evaluator.run(g, feed).get("y");
        ShapeInference.run(g);
        assertEquals(1, DecomposeQuantizedProducts.run(g, int8Kernel), "rewritten");
        ShapeInference.run(g);
        Tensor after = Evaluator.run(g, feed).get("y");
        String what = op + " " + Arrays.toString(attrs);
        assertEquals(before.dtype(), after.dtype(), what);
        assertEquals(before.shape(), after.shape(), what);
        for (int i = 0; i < before.size(); i++) assertEquals(before.getLong(i), after.getLong(i), what + " element " + i);
        List<String> ops = g.nodes().stream().map(Node::op).toList();
        assertFalse(ops.contains(op), ops.toString());
        return ops;
    }

    private static Map<String, Tensor> inputs(Object... kv) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Tensor) kv[i + 1]);
        return m;
    }

    @Test
    void matMulIntegerBecomesAnInt32MatMul() {
        List<String> ops = check("MatMulInteger", inputs("a", random(DType.UINT8, 4, 9), "b", random(DType.UINT8, 9, 5),
                "azp", random(DType.UINT8), "bzp", random(DType.UINT8)), List.of("a", "b", "azp", "bzp"));
        assertEquals(List.of("Cast", "Cast", "Sub", "Cast", "Cast", "Sub", "MatMul"), ops);
        // int8, per-row and per-column zero points, batched A, constant B.
        check("MatMulInteger", inputs("a", random(DType.INT8, 2, 3, 7), "b", random(DType.INT8, 7, 6),
                "azp", random(DType.INT8, 3), "bzp", random(DType.INT8, 6)), List.of("a"));
        check("MatMulInteger", inputs("a", random(DType.UINT8, 3, 7), "b", random(DType.INT8, 7, 2)), List.of("a", "b"));
    }

    /** With the int8 kernel: a constant B keeps the product whole as kiln.Int8MatMul; anything else is decomposed as before. */
    @Test
    void matMulsWithAConstantWeightBecomeInt8MatMulForTheNativeKernel() {
        List<String> ops = check(true, "MatMulInteger", inputs("a", random(DType.UINT8, 4, 9), "b", random(DType.INT8, 9, 5),
                "azp", random(DType.UINT8), "bzp", random(DType.INT8, 5)), List.of("a", "azp"));
        assertEquals(List.of("Int8MatMul"), ops);
        assertEquals(List.of("Int8MatMul"), check(true, "MatMulInteger", inputs("a", random(DType.INT8, 2, 3, 7),
                "b", random(DType.UINT8, 7, 6)), List.of("a")));
        ops = check(true, "QLinearMatMul", inputs("a", random(DType.INT8, 3, 8), "as", scales(1, 0.01f), "azp", random(DType.INT8),
                "b", random(DType.INT8, 8, 3), "bs", scales(3, 0.02f), "bzp", random(DType.INT8, 3), "ys", scales(1, 0.2f), "yzp", random(DType.UINT8)),
                List.of("a", "azp"));
        assertEquals("Int8MatMul", ops.get(0));
        assertEquals("QuantizeLinear", ops.get(ops.size() - 1));
        // B and its zero point from Constant nodes, as some exporters write weights.
        Tensor w = random(DType.INT8, 6, 10), wz = random(DType.INT8, 10), x = random(DType.UINT8, 3, 6);
        Graph c = new GraphBuilder("c").input("a", DType.UINT8, 3, 6)
                .node("Constant", List.of(), List.of("b"), "value", w).node("Constant", List.of(), List.of("bz"), "value", wz)
                .node("MatMulInteger", List.of("a", "b", "", "bz"), List.of("y")).output("y").build();
        Tensor before = Evaluator.run(c, Map.of("a", x)).get("y");
        ShapeInference.run(c);
        assertEquals(1, DecomposeQuantizedProducts.run(c, true));
        assertEquals(List.of("Constant", "Constant", "Int8MatMul"), c.nodes().stream().map(Node::op).toList());
        ShapeInference.run(c);
        Tensor after = Evaluator.run(c, Map.of("a", x)).get("y");
        for (int i = 0; i < before.size(); i++) assertEquals(before.getLong(i), after.getLong(i), "element " + i);
        // Per-row zero points of A, a run-time B, a run-time zero point of B: the exact decomposition.
        assertFalse(check(true, "MatMulInteger", inputs("a", random(DType.UINT8, 4, 9), "b", random(DType.INT8, 9, 5),
                "azp", random(DType.UINT8, 4), "bzp", random(DType.INT8)), List.of("a")).contains("Int8MatMul"));
        assertFalse(check(true, "MatMulInteger", inputs("a", random(DType.UINT8, 4, 9), "b", random(DType.INT8, 9, 5)),
                List.of("a", "b")).contains("Int8MatMul"));
        assertFalse(check(true, "MatMulInteger", inputs("a", random(DType.UINT8, 4, 9), "b", random(DType.INT8, 9, 5),
                "azp", random(DType.UINT8), "bzp", random(DType.INT8)), List.of("a", "bzp")).contains("Int8MatMul"));
        assertFalse(check(true, "ConvInteger", inputs("x", random(DType.UINT8, 1, 2, 5, 5), "w", random(DType.UINT8, 2, 2, 3, 3)),
                List.of("x")).contains("Int8MatMul"));
    }

    /**
     * With the int8 kernel: a 2-D conv of group 1 whose constant weight minus its zero point fits a signed
     * byte keeps its product whole as kiln.Int8Conv (QLinearConv's bias added in int32); anything else is
     * the float64 decomposition.
     */
    @Test
    void convsWithAConstantByteWeightBecomeInt8Conv() {
        assertEquals(List.of("Int8Conv"), check(true, "ConvInteger", inputs("x", random(DType.UINT8, 1, 3, 6, 5), "w", random(DType.INT8, 2, 3, 3, 3),
                "xzp", random(DType.UINT8)), List.of("x", "xzp"), "pads", new int[] {1, 0, 2, 1}, "strides", new int[] {2, 1}));
        // uint8 weights with per-channel zero points near 128: W - w_zp is a signed byte.
        Tensor w = Tensor.generate(DType.UINT8, new Shape(3, 2, 3, 3), i -> 70 + (i * 31) % 110), wz = Tensor.generate(DType.UINT8, new Shape(3), i -> 120 + i);
        assertEquals(List.of("Int8Conv"), check(true, "ConvInteger", inputs("x", random(DType.INT8, 2, 2, 5, 7), "w", w, "xzp", random(DType.INT8),
                "wzp", wz), List.of("x")));
        Tensor bias = Tensor.generate(DType.INT32, new Shape(4), i -> R.nextInt(4001) - 2000);
        List<String> ops = check(true, "QLinearConv", inputs("x", random(DType.UINT8, 1, 3, 8, 8), "xs", scales(1, 0.02f), "xzp", random(DType.UINT8),
                "w", random(DType.INT8, 4, 3, 3, 3), "ws", scales(4, 0.005f), "wzp", Tensor.zeros(DType.INT8, new Shape(4)), "ys", scales(1, 0.05f),
                "yzp", random(DType.UINT8), "bias", bias), List.of("x"), "pads", new int[] {1, 1, 1, 1});
        assertEquals("Int8Conv", ops.get(0));
        assertTrue(ops.contains("Add"), "the int32 bias: " + ops);
        // Grouped, 1-D, a run-time weight, weights that do not fit a signed byte: the float64 decomposition.
        assertFalse(check(true, "ConvInteger", inputs("x", random(DType.INT8, 2, 4, 7, 7), "w", random(DType.INT8, 6, 2, 3, 2)), List.of("x"),
                "group", 2).contains("Int8Conv"));
        assertFalse(check(true, "ConvInteger", inputs("x", random(DType.UINT8, 1, 2, 9), "w", random(DType.INT8, 3, 2, 4)), List.of("x"))
                .contains("Int8Conv"));
        assertFalse(check(true, "ConvInteger", inputs("x", random(DType.UINT8, 1, 2, 5, 5), "w", random(DType.INT8, 2, 2, 3, 3)), List.of("x", "w"))
                .contains("Int8Conv"));
        assertFalse(check(true, "ConvInteger", inputs("x", random(DType.UINT8, 1, 2, 5, 5), "w", Tensor.generate(DType.UINT8, new Shape(2, 2, 3, 3), i -> 255)),
                List.of("x")).contains("Int8Conv"));
    }

    @Test
    void convIntegerBecomesAFloat64ConvForEveryGeometry() {
        List<String> ops = check("ConvInteger", inputs("x", random(DType.UINT8, 1, 3, 6, 5), "w", random(DType.UINT8, 2, 3, 3, 3),
                "xzp", random(DType.UINT8), "wzp", random(DType.UINT8, 2)), List.of("x"), "pads", new int[] {1, 0, 2, 1}, "strides", new int[] {2, 1});
        assertEquals(List.of("Cast", "Cast", "Sub", "Cast", "Reshape", "Cast", "Sub", "Conv", "Cast"), ops);
        check("ConvInteger", inputs("x", random(DType.INT8, 2, 4, 7, 7), "w", random(DType.INT8, 6, 2, 3, 2), "xzp", random(DType.INT8),
                "wzp", random(DType.INT8)), List.of("x", "w"), "group", 2, "dilations", new int[] {2, 1}, "auto_pad", "SAME_UPPER");
        check("ConvInteger", inputs("x", random(DType.UINT8, 1, 2, 9), "w", random(DType.UINT8, 3, 2, 4)), List.of("x"), "strides", new int[] {3});
    }

    @Test
    void qlinearMatMulRequantizesWithQuantizeLinear() {
        List<String> ops = check("QLinearMatMul", inputs("a", random(DType.UINT8, 5, 8), "as", scales(1, 0.01f), "azp", random(DType.UINT8),
                "b", random(DType.UINT8, 8, 3), "bs", scales(1, 0.02f), "bzp", random(DType.UINT8), "ys", scales(1, 0.1f), "yzp", random(DType.UINT8)),
                List.of("a", "as", "azp", "b", "bs", "bzp", "ys", "yzp"));
        assertEquals("QuantizeLinear", ops.get(ops.size() - 1));
        // int8, per-row A and per-column B scales and zero points, constants folded or not.
        check("QLinearMatMul", inputs("a", random(DType.INT8, 2, 4, 8), "as", scales(4, 0.01f), "azp", random(DType.INT8, 4),
                "b", random(DType.INT8, 8, 3), "bs", scales(3, 0.02f), "bzp", random(DType.INT8, 3), "ys", scales(1, 0.2f), "yzp", random(DType.INT8)),
                List.of("a"));
    }

    @Test
    void qlinearConvWithPerChannelScalesAndBias() {
        Tensor bias = Tensor.generate(DType.INT32, new Shape(4), i -> R.nextInt(4001) - 2000);
        check("QLinearConv", inputs("x", random(DType.UINT8, 1, 3, 8, 8), "xs", scales(1, 0.02f), "xzp", random(DType.UINT8),
                "w", random(DType.INT8, 4, 3, 3, 3), "ws", scales(4, 0.005f), "wzp", random(DType.INT8, 4), "ys", scales(1, 0.05f),
                "yzp", random(DType.UINT8), "bias", bias), List.of("x"), "pads", new int[] {1, 1, 1, 1}, "strides", new int[] {2, 2});
        check("QLinearConv", inputs("x", random(DType.INT8, 2, 2, 5, 5), "xs", scales(1, 0.02f), "xzp", random(DType.INT8),
                "w", random(DType.INT8, 2, 1, 3, 3), "ws", scales(1, 0.01f), "wzp", random(DType.INT8), "ys", scales(1, 0.03f),
                "yzp", random(DType.INT8)), List.of("x", "xs", "ys", "yzp"), "group", 2);
    }

    @Test
    void otherOpsAreLeftAlone() {
        Graph g = new GraphBuilder("m").input("a", DType.FLOAT32, 2, 3).input("b", DType.FLOAT32, 3, 2)
                .node("MatMul", List.of("a", "b"), List.of("y")).output("y").build();
        ShapeInference.run(g);
        assertEquals(0, DecomposeQuantizedProducts.run(g));
    }
}
