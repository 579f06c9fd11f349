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
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random points of every kernel's config space, compiled natively (the whole pipeline: passes,
 * blocked layout, templates, LLVM) and run on 1 and 2 threads against the reference evaluator:
 * a space must never hold a config that computes something else. Covers the blocked conv (dense,
 * depthwise, with epilogues), pools, dense/matmul (packed and run-time B), softmax and layer norm.
 */
class RandomConfigsNativeTest {
    @TempDir
    Path dir;

    private final SplittableRandom rnd = new SplittableRandom(3);

    private Tensor random(long... dims) {
        return Tensor.generate(DType.FLOAT32, Shape.of(dims), i -> rnd.nextDouble(-1, 1));
    }

    private static Map<String, Attr> attrs(Object... kv) {
        Map<String, Attr> a = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2)
            a.put((String) kv[i], kv[i + 1] instanceof long[] v ? new Attr.Ints(v) : new Attr.Int((Long) kv[i + 1]));
        return a;
    }

    /** Conv+Relu, depthwise conv, skip add, max pool, global pool, Gemm, Softmax. */
    private Graph convNet() {
        Graph g = new Graph("convnet");
        g.opsets().put("", 17);
        g.inputs().add(new Value("x", DType.FLOAT32, Shape.of(1, 16, 10, 10)));
        g.initializers().put("w1", random(32, 16, 3, 3));
        g.initializers().put("b1", random(32));
        g.initializers().put("wd", random(32, 1, 3, 3));
        g.initializers().put("wg", random(10, 32));
        g.initializers().put("bg", random(10));
        long[] pads = {1, 1, 1, 1};
        g.nodes().add(new Node("c1", "Conv", "", List.of("x", "w1", "b1"), List.of("a"), attrs("pads", pads), 17));
        g.nodes().add(new Node("r1", "Relu", "", List.of("a"), List.of("ar"), Map.of(), 17));
        g.nodes().add(new Node("dw", "Conv", "", List.of("ar", "wd"), List.of("d"), attrs("group", 32L, "pads", pads), 17));
        g.nodes().add(new Node("add", "Add", "", List.of("d", "ar"), List.of("s"), Map.of(), 17));
        g.nodes().add(new Node("mp", "MaxPool", "", List.of("s"), List.of("m"),
                attrs("kernel_shape", new long[] {3, 3}, "strides", new long[] {2, 2}, "pads", pads), 17));
        g.nodes().add(new Node("gap", "GlobalAveragePool", "", List.of("m"), List.of("p"), Map.of(), 17));
        g.nodes().add(new Node("fl", "Flatten", "", List.of("p"), List.of("f"), Map.of(), 17));
        g.nodes().add(new Node("fc", "Gemm", "", List.of("f", "wg", "bg"), List.of("z"), attrs("transB", 1L), 17));
        g.nodes().add(new Node("sm", "Softmax", "", List.of("z"), List.of("y"), Map.of(), 17));
        g.outputs().add("y");
        g.outputs().add("s");
        return g;
    }

    /** MatMul with a constant B, layer norm, and a batched MatMul of two run-time tensors. */
    private Graph attention() {
        Graph g = new Graph("attn");
        g.opsets().put("", 17);
        g.inputs().add(new Value("x", DType.FLOAT32, Shape.of(2, 24, 32)));
        g.inputs().add(new Value("k", DType.FLOAT32, Shape.of(2, 48, 24)));
        g.initializers().put("w", random(32, 48));
        g.initializers().put("gamma", random(48));
        g.initializers().put("beta", random(48));
        g.nodes().add(new Node("mm", "MatMul", "", List.of("x", "w"), List.of("h"), Map.of(), 17));
        g.nodes().add(new Node("ln", "LayerNormalization", "", List.of("h", "gamma", "beta"), List.of("n"), Map.of(), 17));
        g.nodes().add(new Node("bmm", "MatMul", "", List.of("n", "k"), List.of("y"), Map.of(), 17));
        g.outputs().add("y");
        return g;
    }

    /**
     * A QLinearMatMul and a MatMulInteger with constant int8 and uint8 weights of odd sizes: on a VNNI
     * host both are kiln.Int8MatMul kernels, whose tiles, loop orders and parallel loops must all be exact.
     */
    private Graph quantized() {
        Graph g = new Graph("int8");
        g.opsets().put("", 13);
        g.inputs().add(new Value("x", DType.UINT8, Shape.of(37, 45)));
        g.inputs().add(new Value("xz", DType.UINT8, Shape.of()));
        g.inputs().add(new Value("s", DType.INT8, Shape.of(3, 11, 50)));
        g.initializers().put("w", Tensor.generate(DType.INT8, Shape.of(45, 70), i -> rnd.nextInt(-128, 128)));
        g.initializers().put("wz", Tensor.generate(DType.INT8, Shape.of(70), i -> rnd.nextInt(-128, 128)));
        g.initializers().put("xs", Tensor.ofFloats(Shape.of(), 0.02f));
        g.initializers().put("ws", Tensor.ofFloats(Shape.of(), 0.01f));
        g.initializers().put("ys", Tensor.ofFloats(Shape.of(), 1.3f));
        g.initializers().put("yz", Tensor.generate(DType.UINT8, Shape.of(), i -> 128));
        g.initializers().put("u", Tensor.generate(DType.UINT8, Shape.of(50, 33), i -> rnd.nextInt(0, 256)));
        g.initializers().put("sz", Tensor.generate(DType.INT8, Shape.of(), i -> -7));
        g.initializers().put("uz", Tensor.generate(DType.UINT8, Shape.of(), i -> 200));
        g.nodes().add(new Node("q", "QLinearMatMul", "", List.of("x", "xs", "xz", "w", "ws", "wz", "ys", "yz"), List.of("y"), Map.of(), 13));
        g.nodes().add(new Node("i", "MatMulInteger", "", List.of("s", "u", "sz", "uz"), List.of("z"), Map.of(), 13));
        g.outputs().add("y");
        g.outputs().add("z");
        return g;
    }

    /**
     * QLinearConv and ConvInteger with constant byte weights: on a VNNI host, kiln.Int8Conv kernels
     * (rows and flat pixels, strides, pads, a 7x7 kernel, C not a multiple of 4, W not a multiple of the
     * lanes, M = 1) whose tiles, loop orders and parallel loops must all be exact.
     */
    private Graph quantizedConvs() {
        Graph g = new Graph("int8conv");
        g.opsets().put("", 13);
        g.inputs().add(new Value("x", DType.UINT8, Shape.of(1, 6, 15, 19)));
        g.inputs().add(new Value("xz", DType.UINT8, Shape.of()));
        g.inputs().add(new Value("s", DType.INT8, Shape.of(2, 5, 9, 9)));
        g.initializers().put("w", Tensor.generate(DType.INT8, Shape.of(13, 6, 3, 3), i -> rnd.nextInt(-128, 128)));
        g.initializers().put("wz", Tensor.generate(DType.INT8, Shape.of(13), i -> 0));
        g.initializers().put("xs", Tensor.ofFloats(Shape.of(), 0.02f));
        g.initializers().put("ws", Tensor.ofFloats(Shape.of(13), new float[] {.01f, .02f, .015f, .01f, .03f, .01f, .02f, .01f, .01f, .02f, .01f, .04f, .01f}));
        g.initializers().put("ys", Tensor.ofFloats(Shape.of(), 1.3f));
        g.initializers().put("yz", Tensor.generate(DType.UINT8, Shape.of(), i -> 128));
        g.initializers().put("b", Tensor.generate(DType.INT32, Shape.of(13), i -> rnd.nextInt(-5000, 5000)));
        g.initializers().put("u", Tensor.generate(DType.INT8, Shape.of(1, 5, 7, 7), i -> rnd.nextInt(-128, 128)));
        g.initializers().put("v", Tensor.generate(DType.INT8, Shape.of(7, 5, 1, 1), i -> rnd.nextInt(-128, 128)));
        g.initializers().put("sz", Tensor.generate(DType.INT8, Shape.of(), i -> -7));
        g.nodes().add(new Node("q", "QLinearConv", "", List.of("x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"), List.of("y"),
                Map.of("pads", new Attr.Ints(new long[] {1, 1, 1, 1})), 13));
        g.nodes().add(new Node("i", "ConvInteger", "", List.of("s", "u", "sz"), List.of("z"),
                Map.of("pads", new Attr.Ints(new long[] {3, 3, 3, 3}), "strides", new Attr.Ints(new long[] {2, 2})), 13));
        g.nodes().add(new Node("p", "ConvInteger", "", List.of("s", "v", "sz"), List.of("t"), Map.of(), 13));
        g.outputs().add("y");
        g.outputs().add("z");
        g.outputs().add("t");
        return g;
    }

    @Test
    void randomConfigsOfInt8Convs() throws Exception {
        check(quantizedConvs(), Map.of("x", Tensor.generate(DType.UINT8, Shape.of(1, 6, 15, 19), i -> rnd.nextInt(0, 256)),
                "xz", Tensor.generate(DType.UINT8, Shape.of(), i -> 117),
                "s", Tensor.generate(DType.INT8, Shape.of(2, 5, 9, 9), i -> rnd.nextInt(-128, 128))));
    }

    @Test
    void randomConfigsOfInt8MatMuls() throws Exception {
        check(quantized(), Map.of("x", Tensor.generate(DType.UINT8, Shape.of(37, 45), i -> rnd.nextInt(0, 256)),
                "xz", Tensor.generate(DType.UINT8, Shape.of(), i -> 117),
                "s", Tensor.generate(DType.INT8, Shape.of(3, 11, 50), i -> rnd.nextInt(-128, 128))));
    }

    @Test
    void randomConfigsOfAConvNet() throws Exception {
        check(convNet(), Map.of("x", random(1, 16, 10, 10)));
    }

    @Test
    void randomConfigsOfMatMulsAndLayerNorm() throws Exception {
        check(attention(), Map.of("x", random(2, 24, 32), "k", random(2, 48, 24)));
    }

    /**
     * Float MatMuls (a bias Add folded in, K odd, N not a multiple of 16, a single row) and a transposed
     * Gemm compiled with --precision bf16 on a host with AVX-512 BF16: every config of the bf16 kernels,
     * on 1 and 2 threads, against the evaluator of the graph MatMulsToBf16 makes (the same bf16-rounded
     * operands, summed exactly): only the order of the fp32 sums differs.
     */
    @Test
    void randomConfigsOfBf16MatMuls() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Target.host().hasBf16DotProduct(), "this CPU has no AVX-512 BF16");
        Map<String, Tensor> weights = Map.of("w", random(45, 70), "b", random(70), "w2", random(33, 70), "c", random(33), "w3", random(29, 17));
        Map<String, Tensor> feeds = Map.of("x", random(3, 37, 45), "v", random(1, 29));
        Graph ref = bf16Products(weights);
        dev.kiln.irhigh.ShapeInference.run(ref);
        assertEquals(3, dev.kiln.irhigh.passes.MatMulsToBf16.run(ref));
        dev.kiln.irhigh.ShapeInference.run(ref);
        check(bf16Products(weights), feeds, Evaluator.run(ref, feeds), dev.kiln.driver.Precision.BF16);
    }

    /**
     * Convs compiled with --precision bf16: a 3x3 conv with bias and ReLU, a strided 1x1 conv and a
     * residual Add, over whole channel blocks (the bf16 conv kernel), plus a 3-channel image conv that
     * stays fp32; every tile on 1 and 2 threads against the evaluator of the graph the passes make.
     */
    @Test
    void randomConfigsOfBf16Convs() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Target.host().hasBf16DotProduct(), "this CPU has no AVX-512 BF16");
        Map<String, Tensor> weights = Map.of("w0", random(32, 3, 3, 3), "w1", random(32, 32, 3, 3), "b1", random(32), "w2", random(48, 32, 1, 1));
        Map<String, Tensor> feeds = Map.of("x", random(1, 3, 11, 13));
        // The reference: the graph as the pipeline leaves it before fusion, bf16 convs included.
        Graph ref = bf16Convs(weights);
        dev.kiln.irhigh.ShapeInference.run(ref);
        dev.kiln.irhigh.passes.BlockLayout.run(ref, Target.host().channelBlock());
        dev.kiln.irhigh.ShapeInference.run(ref);
        assertEquals(2, dev.kiln.irhigh.passes.ConvsToBf16.run(ref, Target.host().channelBlock()));
        dev.kiln.irhigh.ShapeInference.run(ref);
        check(bf16Convs(weights), feeds, Evaluator.run(ref, feeds), dev.kiln.driver.Precision.BF16);
    }

    private static Graph bf16Convs(Map<String, Tensor> weights) {
        Graph g = new Graph("bf16conv");
        g.opsets().put("", 17);
        g.inputs().add(new Value("x", DType.FLOAT32, Shape.of(1, 3, 11, 13)));
        g.initializers().putAll(weights);
        long[] pads = {1, 1, 1, 1};
        g.nodes().add(new Node("c0", "Conv", "", List.of("x", "w0"), List.of("a"), attrs("pads", pads), 17));
        g.nodes().add(new Node("c1", "Conv", "", List.of("a", "w1", "b1"), List.of("h"), attrs("pads", pads), 17));
        g.nodes().add(new Node("r1", "Relu", "", List.of("h"), List.of("hr"), Map.of(), 17));
        g.nodes().add(new Node("res", "Add", "", List.of("hr", "a"), List.of("s"), Map.of(), 17));
        g.nodes().add(new Node("c2", "Conv", "", List.of("s", "w2"), List.of("y"), attrs("strides", new long[] {2, 2}), 17));
        g.outputs().add("y");
        return g;
    }

    private static Graph bf16Products(Map<String, Tensor> weights) {
        Graph g = new Graph("bf16");
        g.opsets().put("", 17);
        g.inputs().add(new Value("x", DType.FLOAT32, Shape.of(3, 37, 45)));
        g.inputs().add(new Value("v", DType.FLOAT32, Shape.of(1, 29)));
        g.initializers().putAll(weights);
        g.nodes().add(new Node("mm", "MatMul", "", List.of("x", "w"), List.of("h"), Map.of(), 17));
        g.nodes().add(new Node("bias", "Add", "", List.of("h", "b"), List.of("hb"), Map.of(), 17));
        g.nodes().add(new Node("relu", "Relu", "", List.of("hb"), List.of("r"), Map.of(), 17));
        g.nodes().add(new Node("flat", "Reshape", "", List.of("r", "shape"), List.of("r2"), Map.of(), 17));
        g.initializers().put("shape", Tensor.ofLongs(Shape.of(2), 111, 70));
        g.nodes().add(new Node("fc", "Gemm", "", List.of("r2", "w2", "c"), List.of("y"), attrs("transB", 1L), 17));
        g.nodes().add(new Node("row", "MatMul", "", List.of("v", "w3"), List.of("z"), Map.of(), 17));
        g.outputs().add("y");
        g.outputs().add("z");
        return g;
    }

    private void check(Graph g, Map<String, Tensor> feeds) throws Exception {
        check(g, feeds, Evaluator.run(g, feeds), dev.kiln.driver.Precision.FP32);
    }

    private void check(Graph g, Map<String, Tensor> feeds, Map<String, Tensor> want, dev.kiln.driver.Precision precision) throws Exception {
        Path model = dir.resolve(g.name() + ".onnx");
        OnnxWriter.write(g, model);
        Target target = Target.host();
        for (int seed = 1; seed <= 3; seed++) {
            Random rng = new Random(seed);
            List<String> chosen = new ArrayList<>();
            ConfigSource random = (node, graph, t) -> {
                ConfigSpace space = OpInventory.space(node, graph, t);
                var config = space.random(rng);
                chosen.add(node.name() + ": " + config);
                return Knobs.of(config);
            };
            Path so = dir.resolve(g.name() + seed + ".so");
            Compiler.compile(model.toString(), so, new Compiler.Options(target, Map.of(), null, false, random).withPrecision(precision));
            assertTrue(chosen.size() >= 3, "kernels scheduled: " + chosen);
            for (int threads : new int[] {1, 2}) {
                try (KilnLibrary lib = new KilnLibrary(so, threads)) {
                    Map<String, Tensor> got = lib.run(feeds);
                    for (String out : g.outputs()) {
                        Tensor a = want.get(out), b = got.get(out);
                        assertEquals(a.shape(), b.shape(), out);
                        if (!a.dtype().isFloat()) {
                            for (int i = 0; i < a.size(); i++)
                                assertEquals(a.getLong(i), b.getLong(i), out + "[" + i + "] (" + threads + " threads) with configs " + chosen);
                            continue;
                        }
                        for (int i = 0; i < a.size(); i++) {
                            double e = a.getDouble(i), v = b.getDouble(i);
                            int at = i;
                            int th = threads;
                            assertTrue(Math.abs(e - v) <= 1e-4 + 1e-3 * Math.abs(e),
                                    () -> out + "[" + at + "] = " + v + ", expected " + e + " (" + th + " threads) with configs " + chosen);
                        }
                    }
                }
            }
        }
    }
}
