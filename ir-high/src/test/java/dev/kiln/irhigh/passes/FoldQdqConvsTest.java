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
import dev.kiln.irhigh.ops.Int8Conv;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * QDQ Conv folded into ConvInteger (then, by DecomposeQuantizedProducts, kiln.Int8Conv) and a scale:
 * the reference evaluator gives the float conv of the dequantized values, up to float rounding.
 */
class FoldQdqConvsTest {
    private static final Random R = new Random(13);

    /** x (float) -> Q -> DQ -> Conv(., DQ(w int8 [M, C, 3, 3]), bias?) with pads 1 and the given strides. */
    private static Graph model(DType act, boolean perChannel, boolean bias, int m, int c, int stride) {
        float[] sw = new float[perChannel ? m : 1];
        for (int i = 0; i < sw.length; i++) sw[i] = 0.001f + R.nextFloat() * 0.01f;
        GraphBuilder b = new GraphBuilder("qdq").input("x", DType.FLOAT32, 1, c, 9, 21)
                .init("sx", Tensor.ofFloats(Shape.of(), 0.0173f))
                .init("zx", Tensor.generate(act, Shape.of(), i -> act == DType.UINT8 ? 121 : -7))
                .init("w", Tensor.generate(DType.INT8, new Shape(m, c, 3, 3), i -> R.nextInt(255) - 127))
                .init("sw", perChannel ? Tensor.ofFloats(new Shape(m), sw) : Tensor.ofFloats(Shape.of(), sw))
                .init("zw", perChannel ? Tensor.zeros(DType.INT8, new Shape(m)) : Tensor.zeros(DType.INT8, Shape.of()))
                .node("QuantizeLinear", List.of("x", "sx", "zx"), List.of("xq"))
                .node("DequantizeLinear", List.of("xq", "sx", "zx"), List.of("xd"))
                .node("DequantizeLinear", List.of("w", "sw", "zw"), List.of("wd"), "axis", 0);
        List<String> in = List.of("xd", "wd");
        if (bias) {
            float[] v = new float[m];
            for (int i = 0; i < m; i++) v[i] = R.nextFloat() - 0.5f;
            b.init("bias", Tensor.ofFloats(new Shape(m), v));
            in = List.of("xd", "wd", "bias");
        }
        b.node("Conv", in, List.of("y"), "pads", new long[] {1, 1, 1, 1}, "strides", new long[] {stride, stride});
        return b.output("y").build();
    }

    private static void check(DType act, boolean perChannel, boolean bias, int stride) {
        Graph g = model(act, perChannel, bias, 5, 7, stride);
        float[] x = new float[7 * 9 * 21];
        for (int i = 0; i < x.length; i++) x[i] = (float) (R.nextGaussian() * 1.5);
        Map<String, Tensor> feed = Map.of("x", Tensor.ofFloats(new Shape(1, 7, 9, 21), x));
        Tensor before = Evaluator.run(g, feed).get("y");
        ShapeInference.run(g);
        assertEquals(1, FoldQdqConvs.run(g));
        ShapeInference.run(g);
        assertEquals(1, DecomposeQuantizedProducts.run(g, true));
        ShapeInference.run(g);
        List<String> ops = g.nodes().stream().map(Node::op).toList();
        assertTrue(g.nodes().stream().anyMatch(Int8Conv::is), ops.toString());
        assertFalse(ops.contains("DequantizeLinear"), "the dequantizations are gone: " + ops);
        assertFalse(g.initializers().containsKey("sw"), "the weight's float scale is no longer a constant of the graph");
        Tensor after = Evaluator.run(g, feed).get("y");
        assertEquals(before.shape(), after.shape());
        for (int i = 0; i < before.size(); i++) {
            double a = before.getDouble(i), f = after.getDouble(i);
            assertEquals(a, f, 1e-5 * Math.max(1, Math.abs(a)), "element " + i);
        }
    }

    @Test
    void perTensorUint8() {
        check(DType.UINT8, false, false, 1);
    }

    @Test
    void perChannelInt8WithBiasStride2() {
        check(DType.INT8, true, true, 2);
    }

    @Test
    void groupedConvStaysFloat() {
        Graph g = new GraphBuilder("dw").input("x", DType.UINT8, 1, 4, 5, 5)
                .init("s", Tensor.ofFloats(Shape.of(), 0.1f)).init("z", Tensor.generate(DType.UINT8, Shape.of(), i -> 3))
                .init("w", Tensor.generate(DType.INT8, new Shape(4, 1, 3, 3), i -> i % 7 - 3)).init("sw", Tensor.ofFloats(Shape.of(), 0.01f))
                .node("DequantizeLinear", List.of("x", "s", "z"), List.of("xd")).node("DequantizeLinear", List.of("w", "sw"), List.of("wd"))
                .node("Conv", List.of("xd", "wd"), List.of("y"), "group", 4L).output("y").build();
        ShapeInference.run(g);
        assertEquals(0, FoldQdqConvs.run(g), "a depthwise conv is not one the int8 conv takes");
    }

    /** A depthwise conv beside a dense one: both stay float (mixing NCHW int8 convs with blocked float ones costs layout changes). */
    @Test
    void aConvThatStaysFloatKeepsEveryConvFloat() {
        Graph g = new GraphBuilder("mixed").input("x", DType.UINT8, 1, 4, 5, 5)
                .init("s", Tensor.ofFloats(Shape.of(), 0.1f)).init("z", Tensor.generate(DType.UINT8, Shape.of(), i -> 3))
                .init("w", Tensor.generate(DType.INT8, new Shape(4, 4, 3, 3), i -> i % 7 - 3)).init("sw", Tensor.ofFloats(Shape.of(), 0.01f))
                .init("wd", Tensor.generate(DType.INT8, new Shape(4, 1, 3, 3), i -> i % 5 - 2))
                .node("DequantizeLinear", List.of("x", "s", "z"), List.of("xd")).node("DequantizeLinear", List.of("w", "sw"), List.of("wf"))
                .node("DequantizeLinear", List.of("wd", "sw"), List.of("wdf"))
                .node("Conv", List.of("xd", "wf"), List.of("y"), "pads", new long[] {1, 1, 1, 1})
                .node("Conv", List.of("y", "wdf"), List.of("y2"), "group", 4L).output("y2").build();
        ShapeInference.run(g);
        assertEquals(0, FoldQdqConvs.run(g));
    }
}
