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
import dev.kiln.irhigh.ops.Blocked;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The blocked layout pass: same outputs as the NCHW graph (reference evaluator), layout changed only at the edges. */
class BlockLayoutTest {
    private static final Random R = new Random(11);

    private static Tensor random(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextGaussian());
    }

    /**
     * An inverted-residual block with channel counts that do not fill blocks (24, 40): expand 1x1,
     * clip, depthwise 3x3 stride 1, per-channel scale, project 1x1, skip add; then a max pool, a
     * global pool and a flatten (which keeps NCHW).
     */
    private static Graph block() {
        return new GraphBuilder("block").input("x", DType.FLOAT32, 1, 24, 9, 9)
                .init("w1", random(40, 24, 1, 1)).init("b1", random(40)).init("lo", Tensor.ofFloats(Shape.SCALAR, 0f))
                .init("hi", Tensor.ofFloats(Shape.SCALAR, 6f)).init("wd", random(40, 1, 3, 3)).init("bd", random(40))
                .init("s", random(40, 1, 1)).init("w2", random(24, 40, 1, 1))
                .node("Conv", List.of("x", "w1", "b1"), List.of("a"))
                .node("Clip", List.of("a", "lo", "hi"), List.of("a6"))
                .node("Conv", List.of("a6", "wd", "bd"), List.of("d"), "group", 40L, "pads", new int[] {1, 1, 1, 1})
                .node("Mul", List.of("d", "s"), List.of("ds"))
                .node("Relu", List.of("ds"), List.of("dr"))
                .node("Conv", List.of("dr", "w2"), List.of("p"))
                .node("Add", List.of("p", "x"), List.of("y"))
                .node("MaxPool", List.of("y"), List.of("m"), "kernel_shape", new int[] {3, 3}, "strides", new int[] {2, 2},
                        "pads", new int[] {1, 1, 1, 1})
                .node("GlobalAveragePool", List.of("m"), List.of("g"))
                .node("Flatten", List.of("g"), List.of("f"))
                .output("y", "f").build();
    }

    @Test
    void blockedGraphComputesTheSameAsNchw() {
        Graph g = block();
        ShapeInference.run(g);
        Map<String, Tensor> in = Map.of("x", random(1, 24, 9, 9));
        Map<String, Tensor> before = Evaluator.run(g, in);
        int rewritten = BlockLayout.run(g, 16);
        assertEquals(9, rewritten, g.toString()); // 3 convs, clip, mul, relu, add, max pool, global pool
        Map<String, Tensor> after = Evaluator.run(g, in);
        for (String out : List.of("y", "f")) {
            Tensor e = before.get(out), a = after.get(out);
            assertEquals(e.shape(), a.shape());
            for (int i = 0; i < e.size(); i++)
                assertTrue(Math.abs(e.getDouble(i) - a.getDouble(i)) <= 1e-6 * Math.max(1, Math.abs(e.getDouble(i))),
                        out + "[" + i + "]: " + e.getDouble(i) + " vs " + a.getDouble(i));
        }
    }

    @Test
    void layoutChangesOnlyAtTheEdges() {
        Graph g = block();
        ShapeInference.run(g);
        BlockLayout.run(g, 16);
        long to = g.nodes().stream().filter(n -> n.op().equals(Blocked.TO)).count();
        long from = g.nodes().stream().filter(n -> n.op().equals(Blocked.FROM)).count();
        // x enters once (read by the first conv and the skip add); y leaves (graph output) and the
        // global pool's result leaves for Flatten.
        assertEquals(1, to, g.toString());
        assertEquals(2, from, g.toString());
        for (Node n : g.nodes())
            if (n.op().equals("Conv") || n.op().equals("MaxPool")) throw new AssertionError("left in NCHW: " + n.describe());
    }

    /**
     * A squeeze-excitation block (global pool, two 1x1 convs, hard-sigmoid, the scale broadcast
     * back over the feature map) and an FPN step (nearest 2x Resize, add): all of it stays
     * blocked, and computes what the NCHW graph computes.
     */
    @Test
    void squeezeExcitationAndResizeStayBlocked() {
        Graph g = new GraphBuilder("se").opset(13).input("x", DType.FLOAT32, 1, 24, 6, 6).input("skip", DType.FLOAT32, 1, 40, 12, 12)
                .init("w0", random(40, 24, 3, 3)).init("w1", random(10, 40, 1, 1)).init("b1", random(10))
                .init("w2", random(40, 10, 1, 1)).init("b2", random(40))
                .init("scales", Tensor.ofFloats(new Shape(4), 1f, 1f, 2f, 2f)).init("sizes", Tensor.ofLongs(new Shape(4), 1, 40, 12, 12))
                .node("Conv", List.of("x", "w0"), List.of("f"), "pads", new int[] {1, 1, 1, 1})
                .node("GlobalAveragePool", List.of("f"), List.of("p"))
                .node("Conv", List.of("p", "w1", "b1"), List.of("q"))
                .node("Relu", List.of("q"), List.of("qr"))
                .node("Conv", List.of("qr", "w2", "b2"), List.of("e"))
                .node("HardSigmoid", List.of("e"), List.of("s"), "alpha", 0.2f)
                .node("Mul", List.of("f", "s"), List.of("fs"))
                .node("Resize", List.of("fs", "", "scales"), List.of("up"), "mode", "nearest")
                .node("Resize", List.of("fs", "", "", "sizes"), List.of("up2"), "mode", "linear")
                .node("Add", List.of("up", "skip"), List.of("y"))
                .node("Add", List.of("y", "up2"), List.of("z"))
                .output("z").build();
        ShapeInference.run(g);
        Map<String, Tensor> in = Map.of("x", random(1, 24, 6, 6), "skip", random(1, 40, 12, 12));
        Tensor before = Evaluator.run(g, in).get("z");
        BlockLayout.run(g, 16);
        for (Node n : g.nodes())
            if (n.op().equals("Mul") || n.op().equals("Resize"))
                assertTrue(n.output(0).contains("nchw16c"), "left in NCHW: " + n.describe());
        // x and skip enter, z leaves; nothing converts in between.
        assertEquals(2, g.nodes().stream().filter(n -> n.op().equals(Blocked.TO)).count(), g.toString());
        assertEquals(1, g.nodes().stream().filter(n -> n.op().equals(Blocked.FROM)).count(), g.toString());
        Tensor after = Evaluator.run(g, in).get("z");
        for (int i = 0; i < before.size(); i++)
            assertTrue(Math.abs(before.getDouble(i) - after.getDouble(i)) <= 1e-5 * Math.max(1, Math.abs(before.getDouble(i))), "z[" + i + "]");
    }

    /** A grouped conv with 16 channels per group blocks, and computes what the NCHW graph computes. */
    @Test
    void groupedConvsWithWholeBlocksPerGroupBlock() {
        Graph g = new GraphBuilder("grouped").input("x", DType.FLOAT32, 1, 64, 7, 7).init("w", random(64, 16, 3, 3)).init("b", random(64))
                .node("Conv", List.of("x", "w", "b"), List.of("y"), "group", 4L, "pads", new int[] {1, 1, 1, 1})
                .node("Relu", List.of("y"), List.of("z")).output("z").build();
        ShapeInference.run(g);
        Map<String, Tensor> in = Map.of("x", random(1, 64, 7, 7));
        Tensor before = Evaluator.run(g, in).get("z");
        assertEquals(2, BlockLayout.run(g, 16));
        Tensor after = Evaluator.run(g, in).get("z");
        for (int i = 0; i < before.size(); i++)
            assertTrue(Math.abs(before.getDouble(i) - after.getDouble(i)) <= 1e-5 * Math.max(1, Math.abs(before.getDouble(i))), "z[" + i + "]");
    }

    @Test
    void smallOrGroupedConvsStayNchw() {
        Graph g = new GraphBuilder("small").input("x", DType.FLOAT32, 1, 4, 5, 5)
                .init("w", random(2, 4, 3, 3)).init("wg", random(8, 2, 1, 1))
                .node("Conv", List.of("x", "w"), List.of("y"))
                .node("Conv", List.of("x", "wg"), List.of("z"), "group", 2L)
                .output("y", "z").build();
        ShapeInference.run(g);
        assertEquals(0, BlockLayout.run(g, 16));
    }

    @Test
    void blockAndUnblockRoundTripWithZeroPadding() {
        Tensor t = random(2, 20, 3, 2);
        Tensor b = Blocked.block(t, 16);
        assertEquals(new Shape(2, 2, 3, 2, 16), b.shape());
        // Channel 19 of batch 1 at (2, 1) is lane 3 of block 1; channel 20.. are zeros.
        assertEquals(t.getDouble(((1 * 20 + 19) * 3 + 2) * 2 + 1), b.getDouble((((1 * 2 + 1) * 3 + 2) * 2 + 1) * 16 + 3));
        assertEquals(0.0, b.getDouble((((1 * 2 + 1) * 3 + 2) * 2 + 1) * 16 + 4));
        Tensor back = Blocked.unblock(b, 20);
        for (int i = 0; i < t.size(); i++) assertEquals(t.getDouble(i), back.getDouble(i));
    }
}
