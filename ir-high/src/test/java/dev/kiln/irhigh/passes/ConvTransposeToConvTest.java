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

/** ConvTranspose rewritten into Conv: the reference evaluator gives the same outputs before and after. */
class ConvTransposeToConvTest {
    private static final Random R = new Random(11);

    private static Tensor random(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> R.nextGaussian());
    }

    /** Rewrites {@code ConvTranspose(x, w[, b])} with {@code attrs}; checks the outputs and returns the new ops. */
    private static List<String> check(int[] x, int[] w, boolean bias, Object... attrs) {
        GraphBuilder b = new GraphBuilder("ct").input("x", DType.FLOAT32, x).init("w", random(w));
        List<String> ins = new ArrayList<>(List.of("x", "w"));
        if (bias) {
            int groups = 1;
            for (int i = 0; i + 1 < attrs.length; i += 2) if (attrs[i].equals("group")) groups = (Integer) attrs[i + 1];
            b.init("b", random(w[1] * groups));
            ins.add("b");
        }
        Graph g = b.node("ConvTranspose", ins, List.of("y"), attrs).output("y").build();
        Map<String, Tensor> in = Map.of("x", random(x));
        Tensor before = Evaluator.run(g, in).get("y");
        ShapeInference.run(g);
        assertEquals(1, ConvTransposeToConv.run(g), "rewritten");
        ShapeInference.run(g);
        Tensor after = Evaluator.run(g, in).get("y");
        String what = Arrays.toString(x) + " " + Arrays.toString(w) + " " + Arrays.toString(attrs);
        assertEquals(before.shape(), after.shape(), what);
        for (int i = 0; i < before.size(); i++) {
            double e = before.getDouble(i), a = after.getDouble(i);
            assertTrue(Math.abs(e - a) <= 1e-4 * Math.max(1, Math.abs(e)), what + " element " + i + ": " + e + " vs " + a);
        }
        return g.nodes().stream().map(Node::op).toList();
    }

    @Test
    void kernelEqualToStrideBecomesAPointwiseConvAndAnInterleave() {
        assertEquals(List.of("Conv", "Reshape", "Transpose", "Reshape"),
                check(new int[] {1, 6, 5, 7}, new int[] {6, 4, 2, 2}, true, "strides", new int[] {2, 2}));
        check(new int[] {2, 3, 4, 5}, new int[] {3, 2, 3, 2}, false, "strides", new int[] {3, 2});
        check(new int[] {1, 4, 9}, new int[] {4, 3, 4}, true, "strides", new int[] {4});
    }

    @Test
    void otherGeometriesInsertZerosAndConvolve() {
        assertEquals(List.of("Reshape", "Pad", "Reshape", "Conv"),
                check(new int[] {1, 4, 5, 5}, new int[] {4, 3, 4, 4}, true, "strides", new int[] {2, 2}, "pads", new int[] {1, 1, 1, 1}));
        // Output padding, uneven pads, dilation, groups (depthwise too), stride 1, 1-D and 3-D.
        check(new int[] {1, 2, 4, 3}, new int[] {2, 3, 3, 3}, true, "strides", new int[] {2, 3}, "output_padding", new int[] {1, 2});
        check(new int[] {1, 3, 6, 6}, new int[] {3, 2, 3, 3}, false, "pads", new int[] {0, 2, 1, 0}, "dilations", new int[] {2, 1});
        check(new int[] {2, 4, 3, 4}, new int[] {4, 3, 2, 3}, true, "group", 2, "strides", new int[] {2, 1});
        check(new int[] {1, 6, 5, 5}, new int[] {6, 1, 4, 4}, true, "group", 6, "strides", new int[] {2, 2}, "pads", new int[] {1, 1, 1, 1});
        check(new int[] {1, 3, 5, 4}, new int[] {3, 2, 3, 3}, false, "pads", new int[] {1, 1, 1, 1});
        check(new int[] {1, 2, 7}, new int[] {2, 5, 5}, true, "strides", new int[] {3}, "pads", new int[] {2, 4});
        check(new int[] {1, 2, 3, 2, 3}, new int[] {2, 2, 2, 3, 2}, false, "strides", new int[] {2, 1, 2});
        check(new int[] {1, 2, 4, 4}, new int[] {2, 2, 3, 3}, true, "strides", new int[] {2, 2}, "auto_pad", "SAME_UPPER");
        check(new int[] {1, 2, 3, 3}, new int[] {2, 2, 3, 3}, false, "strides", new int[] {2, 2}, "output_shape", new int[] {8, 7});
    }

    @Test
    void padsLargerThanTheKernelReachCropTheInput() {
        // pad 3 > (k-1)*d = 2: the flipped conv starts inside the upsampled input.
        List<String> ops = check(new int[] {1, 2, 6, 6}, new int[] {2, 2, 3, 3}, true, "strides", new int[] {2, 2},
                "pads", new int[] {3, 3, 3, 4});
        assertTrue(ops.contains("Slice"), ops.toString());
    }

    @Test
    void runTimeWeightsAreLeftAlone() {
        Graph g = new GraphBuilder("rt").input("x", DType.FLOAT32, 1, 2, 3, 3).input("w", DType.FLOAT32, 2, 2, 2, 2)
                .node("ConvTranspose", List.of("x", "w"), List.of("y"), "strides", new int[] {2, 2}).output("y").build();
        ShapeInference.run(g);
        assertEquals(0, ConvTransposeToConv.run(g));
    }
}
