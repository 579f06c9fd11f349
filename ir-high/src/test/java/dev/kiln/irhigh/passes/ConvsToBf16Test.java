package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.GraphBuilder;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Bf16Conv;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * After BlockLayout, the dense convs over whole channel blocks become {@link Bf16Conv}; the image's
 * conv over 3 channels, depthwise and dilated convs stay float. The evaluator moves the output, and
 * stays within a loose bf16 bound: 2^-8 of at most K = 32 * 9 products per output of the bf16 conv,
 * whose values grow by at most 9 * 3 through the first conv before it.
 */
class ConvsToBf16Test {
    private static final Random R = new Random(31);

    private static Tensor rand(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextDouble() * 2 - 1);
    }

    @Test
    void denseConvsOverWholeBlocksOnly() {
        long[] pads = {1, 1, 1, 1};
        Graph g = new GraphBuilder("convs").input("x", DType.FLOAT32, 1, 3, 8, 8)
                .init("w0", rand(32, 3, 3, 3)).init("w1", rand(32, 32, 3, 3)).init("b1", rand(32)).init("wd", rand(32, 1, 3, 3)).init("w2", rand(32, 32, 3, 3))
                .node("Conv", List.of("x", "w0"), List.of("a"), "pads", pads)
                .node("Conv", List.of("a", "w1", "b1"), List.of("b"), "pads", pads)
                .node("Conv", List.of("b", "wd"), List.of("c"), "pads", pads, "group", 32)
                .node("Conv", List.of("c", "w2"), List.of("y"), "pads", new long[] {2, 2, 2, 2}, "dilations", new long[] {2, 2})
                .output("y").build();
        ShapeInference.run(g);
        Map<String, Tensor> feed = Map.of("x", rand(1, 3, 8, 8));
        Tensor before = Evaluator.run(g, feed).get("y");
        BlockLayout.run(g, 16);
        ShapeInference.run(g);
        assertEquals(1, ConvsToBf16.run(g, 16));
        ShapeInference.run(g);
        assertEquals(1, g.nodes().stream().filter(Bf16Conv::is).count());
        assertEquals(List.of("w1", "b1"), g.nodes().stream().filter(Bf16Conv::is).findFirst().orElseThrow().inputs().subList(1, 3));
        Tensor after = Evaluator.run(g, feed).get("y");
        double worst = 0;
        for (int i = 0; i < before.size(); i++) worst = Math.max(worst, Math.abs(before.getDouble(i) - after.getDouble(i)));
        assertTrue(worst > 0 && worst < 0x1p-8 * 32 * 9 * 9 * 3, "error " + worst);
    }
}
