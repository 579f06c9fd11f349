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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** 1-D convs rewritten as 2-D convs of height 1: the reference evaluator gives the same outputs. */
class Conv1dAs2dTest {
    private static final Random R = new Random(5);

    private static Tensor random(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextGaussian());
    }

    private static void check(int[] x, int[] w, boolean bias, Object... attrs) {
        GraphBuilder b = new GraphBuilder("c1").input("x", DType.FLOAT32, x).init("w", random(w));
        List<String> ins = new ArrayList<>(List.of("x", "w"));
        if (bias) {
            b.init("b", random(w[0]));
            ins.add("b");
        }
        Graph g = b.node("Conv", ins, List.of("y"), attrs).node("Relu", List.of("y"), List.of("z")).output("z").build();
        Map<String, Tensor> in = Map.of("x", random(x));
        Tensor before = Evaluator.run(g, in).get("z");
        ShapeInference.run(g);
        assertEquals(1, Conv1dAs2d.run(g));
        ShapeInference.run(g);
        List<String> ops = g.nodes().stream().map(Node::op).toList();
        assertTrue(ops.equals(List.of("Reshape", "Conv", "Reshape", "Relu")) || ops.equals(List.of("Reshape", "Conv", "Reshape", "Slice", "Relu")), ops.toString());
        assertEquals(4, g.value(g.nodes().get(1).input(0)).shape().rank(), "the conv is 2-D");
        Tensor after = Evaluator.run(g, in).get("z");
        String what = Arrays.toString(x) + " " + Arrays.toString(w) + " " + Arrays.toString(attrs);
        assertEquals(before.shape(), after.shape(), what);
        for (int i = 0; i < before.size(); i++)
            assertTrue(Math.abs(before.getDouble(i) - after.getDouble(i)) <= 1e-5 * Math.max(1, Math.abs(before.getDouble(i))), what + " at " + i);
    }

    @Test
    void aStftLikeConvAndOthersGiveTheSameOutputs() {
        // An STFT front end: one input channel, a long kernel, a large stride.
        check(new int[] {1, 1, 2000}, new int[] {33, 1, 64}, false, "strides", new int[] {20});
        check(new int[] {2, 4, 30}, new int[] {6, 4, 3}, true, "pads", new int[] {1, 2}, "dilations", new int[] {2});
        check(new int[] {1, 6, 17}, new int[] {6, 1, 5}, true, "group", 6, "auto_pad", "SAME_UPPER");
        check(new int[] {1, 4, 9}, new int[] {8, 2, 3}, false, "group", 2, "strides", new int[] {2});
        // 97 outputs (prime): computed as 98 and cut.
        check(new int[] {1, 2, 16000}, new int[] {5, 2, 512}, true, "strides", new int[] {160});
    }

    @Test
    void aPrimeRowIsPaddedToOneThatTiles() {
        assertEquals(98, Conv1dAs2d.paddedLength(97));
        assertEquals(12, Conv1dAs2d.paddedLength(12));
        assertEquals(36, Conv1dAs2d.paddedLength(36));
        assertEquals(18, Conv1dAs2d.paddedLength(17));
    }

    @Test
    void twoDimensionalAndRunTimeWeightConvsAreLeftAlone() {
        Graph g = new GraphBuilder("keep").input("x", DType.FLOAT32, 1, 2, 5, 5).input("v", DType.FLOAT32, 1, 2, 9)
                .input("wv", DType.FLOAT32, 3, 2, 3).init("w", random(3, 2, 3, 3))
                .node("Conv", List.of("x", "w"), List.of("y")).node("Conv", List.of("v", "wv"), List.of("z")).output("y", "z").build();
        ShapeInference.run(g);
        assertEquals(0, Conv1dAs2d.run(g));
    }
}
