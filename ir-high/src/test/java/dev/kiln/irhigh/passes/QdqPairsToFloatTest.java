package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;

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

/** A QuantizeLinear/DequantizeLinear pair as float arithmetic: bit for bit what the pair gives, by the reference evaluator. */
class QdqPairsToFloatTest {
    private static final float SCALE = 0.0371f;

    /** Values on and around every rounding boundary of the grid, far beyond both ends (saturation), zeros, and random ones. */
    private static Tensor values() {
        Random r = new Random(5);
        float[] v = new float[4000];
        for (int i = 0; i < 1200; i++) v[i] = (i - 600 + 0.5f) * SCALE;
        for (int i = 1200; i < 2400; i++) v[i] = Math.nextUp((i - 1800 + 0.5f) * SCALE);
        for (int i = 2400; i < 2500; i++) v[i] = 0f;
        for (int i = 2500; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 300 * SCALE);
        return Tensor.ofFloats(new Shape(v.length), v);
    }

    private static Graph pair(Tensor zp, Tensor dqScale, boolean qIsOutput) {
        GraphBuilder b = new GraphBuilder("qdq").input("x", DType.FLOAT32, 4000)
                .init("s", Tensor.ofFloats(Shape.of(), SCALE)).init("s2", dqScale);
        List<String> qIn = zp == null ? List.of("x", "s") : List.of("x", "s", "zp");
        List<String> dqIn = zp == null ? List.of("q", "s2") : List.of("q", "s2", "zp");
        if (zp != null) b.init("zp", zp);
        b.node("QuantizeLinear", qIn, List.of("q")).node("DequantizeLinear", dqIn, List.of("y")).output("y");
        if (qIsOutput) b.output("q");
        return b.build();
    }

    private static void exact(Tensor zp) {
        Graph g = pair(zp, Tensor.ofFloats(Shape.of(), SCALE), false);
        Map<String, Tensor> feed = Map.of("x", values());
        Tensor before = Evaluator.run(g, feed).get("y");
        ShapeInference.run(g);
        assertEquals(1, QdqPairsToFloat.run(g));
        ShapeInference.run(g);
        assertEquals(List.of("Div", "Round", "Add", "Clip", "Sub", "Mul"), g.nodes().stream().map(Node::op).toList());
        Tensor after = Evaluator.run(g, feed).get("y");
        for (int i = 0; i < before.size(); i++)
            assertEquals(Float.floatToIntBits(before.floats()[i]), Float.floatToIntBits(after.floats()[i]),
                    "element " + i + " x=" + feed.get("x").floats()[i] + ": " + before.floats()[i] + " vs " + after.floats()[i]);
    }

    @Test
    void uint8PairIsExact() {
        exact(Tensor.generate(DType.UINT8, Shape.of(), i -> 113));
    }

    @Test
    void int8PairIsExact() {
        exact(Tensor.generate(DType.INT8, Shape.of(), i -> -7));
    }

    @Test
    void pairWithoutZeroPointIsExact() {
        exact(null);
    }

    @Test
    void pairsThatAreNotARoundTripStay() {
        Graph otherScale = pair(Tensor.generate(DType.UINT8, Shape.of(), i -> 3), Tensor.ofFloats(Shape.of(), 2 * SCALE), false);
        ShapeInference.run(otherScale);
        assertEquals(0, QdqPairsToFloat.run(otherScale), "a DequantizeLinear of another scale is not the inverse");
        Graph quantizedOutput = pair(Tensor.generate(DType.UINT8, Shape.of(), i -> 3), Tensor.ofFloats(Shape.of(), SCALE), true);
        ShapeInference.run(quantizedOutput);
        assertEquals(0, QdqPairsToFloat.run(quantizedOutput), "the quantized tensor is itself an output");
    }
}
