package dev.kiln.schedules.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.Bf16Conv;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@code kiln.Bf16Conv}'s native kernel (a direct blocked conv of bf16 pair dot products), run by the
 * loop-IR interpreter, against the reference evaluator (the same bf16-rounded operands, summed
 * exactly): only the order of the fp32 sums differs, so within 1e-4 absolute and relative. Strides,
 * asymmetric pads, 1x1 and 3x3 kernels, widths that leave pixel tails, several blocks, with and
 * without a bias, every tile.
 */
class Bf16ConvOpsTest {
    private static final Random R = new Random(29);

    private static Tensor rand(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextDouble() * 4 - 2);
    }

    /** A Bf16Conv of a blocked [1, C/16, h, w, 16] input with M output channels and a k x k kernel. */
    private static Graph graph(int c, int m, int h, int w, int k, long[] pads, long[] strides, boolean bias) {
        Graph g = new Graph("bf16conv");
        g.opsets().put("", 17);
        g.inputs().add(new Value("x", DType.FLOAT32, new Shape(1, c / 16, h, w, 16)));
        g.initializers().put("w", rand(m, c, k, k));
        if (bias) g.initializers().put("b", rand(m));
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("pads", new Attr.Ints(pads));
        attrs.put("strides", new Attr.Ints(strides));
        attrs.put("kernel_shape", new Attr.Ints(new long[] {k, k}));
        attrs.put("block", new Attr.Int(16));
        attrs.put("channels", new Attr.Int(c));
        g.nodes().add(new Node("conv", Bf16Conv.OP, Bf16Conv.DOMAIN, bias ? List.of("x", "w", "b") : List.of("x", "w"), List.of("y"), attrs, 17));
        g.outputs().add("y");
        ShapeInference.run(g);
        return g;
    }

    private static void check(Graph g, Knobs knobs) {
        Map<String, Tensor> feed = Map.of("x", rand(g.inputs().getFirst().shape().dims()));
        Tensor want = Evaluator.run(g, feed).get("y");
        Kernel k = OpInventory.lower(g.nodes().getFirst(), g, OpHarness.AVX512, knobs);
        float[] got = (float[]) OpHarness.runKernel(k, g, feed).get("y");
        assertEquals(want.size(), got.length);
        for (int i = 0; i < got.length; i++) {
            double e = want.getDouble(i);
            assertTrue(Math.abs(e - got[i]) <= 1e-4 + 1e-4 * Math.abs(e), "element " + i + ": " + got[i] + ", expected " + e);
        }
    }

    @Test
    void matchesTheReference() {
        check(graph(32, 48, 7, 9, 3, new long[] {1, 1, 1, 1}, new long[] {1, 1}, true), Knobs.defaults());
        check(graph(16, 32, 9, 11, 3, new long[] {0, 1, 2, 1}, new long[] {2, 2}, false), Knobs.defaults());
        check(graph(32, 16, 6, 5, 1, new long[] {0, 0, 0, 0}, new long[] {2, 2}, true), Knobs.defaults());
        check(graph(16, 16, 5, 31, 3, new long[] {1, 1, 1, 1}, new long[] {1, 1}, true), Knobs.defaults());  // pixel tails
    }

    @Test
    void everyTileMatches() {
        Graph g = graph(16, 48, 5, 13, 3, new long[] {1, 1, 1, 1}, new long[] {1, 1}, true);
        ConfigSpace space = OpInventory.space(g.nodes().getFirst(), g, OpHarness.AVX512);
        assertTrue(space.knob("tile") != null && space.knob("tile").values().size() > 4, space.toString());
        for (long i = 0; i < space.size(); i++) check(g, Knobs.of(space.get(i)));
    }
}
