package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Correctness of the conv kernels as compiled for this machine: the blocked form (weights packed
 * over 16 output channels, register-blocked columns, NCHW conversion) and the plain form
 * (depthwise, grouped, phase-split strided input), as single-Conv models through {@link Compiler},
 * run natively on 1 and 2 threads, against the reference {@link Evaluator}.
 */
class ConvKernelsNativeTest {
    @TempDir
    Path dir;

    private final SplittableRandom rnd = new SplittableRandom(7);

    /** Conv(x[n, ci, spatial...], w[co, ci/group, k...], bias?) with the given attributes. */
    private void check(long[] x, long[] w, boolean bias, Map<String, Attr> attrs) {
        Graph g = new Graph("conv");
        g.opsets().put("", 17);
        Tensor in = random(x);
        g.inputs().add(new Value("x", DType.FLOAT32, in.shape()));
        g.initializers().put("w", random(w));
        List<String> ins = new ArrayList<>(List.of("x", "w"));
        if (bias) {
            g.initializers().put("b", random(w[0]));
            ins.add("b");
        }
        g.nodes().add(new Node("n0", "Conv", "", ins, List.of("y"), attrs, 17));
        g.outputs().add("y");
        Map<String, Tensor> feeds = new LinkedHashMap<>(Map.of("x", in));
        Tensor want = Evaluator.run(g, feeds).get("y");
        Path model = dir.resolve("m.onnx"), so = dir.resolve("m" + System.nanoTime() + ".so");
        OnnxWriter.write(g, model);
        Compiler.compile(model.toString(), so, new Compiler.Options(Target.host(), Map.of(), null, false));
        String what = "Conv x" + Shape.of(x) + " w" + Shape.of(w) + " " + attrs;
        for (int threads : new int[] {1, 2}) {
            try (KilnLibrary lib = new KilnLibrary(so, threads)) {
                Tensor got = lib.run(feeds).get("y");
                assertEquals(want.shape(), got.shape(), what + " output shape");
                for (int i = 0; i < want.size(); i++) {
                    double a = want.getDouble(i), b = got.getDouble(i);
                    int at = i;
                    assertTrue(Math.abs(a - b) <= 1e-4 + 1e-3 * Math.abs(a),
                            () -> what + " on " + threads + " thread(s): element " + at + " is " + b + ", expected " + a);
                }
            }
        }
    }

    private Tensor random(long... dims) {
        return Tensor.generate(DType.FLOAT32, Shape.of(dims), i -> rnd.nextDouble(-1, 1));
    }

    private static Map<String, Attr> attrs(long group, long[] pads, long[] strides, long[] dilations) {
        Map<String, Attr> a = new LinkedHashMap<>();
        if (group != 1) a.put("group", new Attr.Int(group));
        if (pads != null) a.put("pads", new Attr.Ints(pads));
        if (strides != null) a.put("strides", new Attr.Ints(strides));
        if (dilations != null) a.put("dilations", new Attr.Ints(dilations));
        return a;
    }

    private static long[] l(long... v) {
        return v;
    }

    @Test
    void blockedConvs() {
        check(l(1, 3, 45, 45), l(64, 3, 7, 7), false, attrs(1, l(3, 3, 3, 3), l(2, 2), null));   // ResNet stem, smaller
        check(l(1, 64, 14, 14), l(64, 64, 3, 3), true, attrs(1, l(1, 1, 1, 1), null, null));    // 3x3, 14 columns
        check(l(1, 32, 15, 15), l(24, 32, 3, 3), true, attrs(1, l(1, 1, 1, 1), l(2, 2), null)); // co 24: padded block, stride 2
        check(l(1, 96, 7, 7), l(160, 96, 1, 1), false, attrs(1, null, null, null));             // pointwise, co 160
        check(l(2, 16, 9, 9), l(20, 16, 1, 1), true, attrs(1, null, l(2, 2), null));           // strided 1x1, batch 2
        check(l(1, 8, 17, 23), l(17, 8, 3, 3), false, attrs(1, l(2, 2, 2, 2), null, l(2, 2))); // dilation, prime row
    }

    @Test
    void depthwiseAndGroupedConvs() {
        check(l(1, 96, 29, 29), l(96, 1, 3, 3), true, attrs(96, l(1, 1, 1, 1), l(2, 2), null)); // MobileNetV2 stride-2 depthwise
        check(l(1, 144, 14, 14), l(144, 1, 3, 3), false, attrs(144, l(1, 1, 1, 1), null, null));
        check(l(1, 8, 13, 20), l(12, 4, 3, 3), true, attrs(2, l(0, 1, 2, 1), l(1, 3), null));   // grouped, stride 3 on w
    }
}
