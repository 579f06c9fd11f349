package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QLinearConv (3x3, 16 to 32 channels on 1x16x28x28, per-channel weight scales and zero points,
 * int32 bias) and QLinearMatMul (1x256 by 256x64) of realistic size, the library and the reference
 * evaluator against ONNX Runtime: every quantized output equal.
 */
class QuantizedOpsMatchOnnxRuntimeTest {
    @TempDir
    Path dir;

    private static final SplittableRandom RNG = new SplittableRandom(23);

    private static Tensor random(DType t, long lo, long hi, int... dims) {
        return Tensor.generate(t, new Shape(dims), i -> RNG.nextLong(lo, hi + 1));
    }

    private static Tensor scalar(DType t, double v) {
        Tensor r = Tensor.zeros(t, new Shape());
        r.setDouble(0, v);
        return r;
    }

    private static void input(Graph g, String name, DType t, int... dims) {
        Value v = new Value(name, t, new Shape(dims));
        g.inputs().add(v);
        g.values().put(name, v);
    }

    /** Two independent QLinear ops, their inputs x and a, and their constants. */
    private static Graph model() {
        Graph g = new Graph("qlinear");
        g.opsets().put("", 13);
        input(g, "x", DType.UINT8, 1, 16, 28, 28);
        input(g, "a", DType.UINT8, 1, 256);
        Map<String, Tensor> init = g.initializers();
        init.put("x_scale", scalar(DType.FLOAT32, 0.02));
        init.put("x_zp", scalar(DType.UINT8, 128));
        init.put("w", random(DType.INT8, -127, 127, 32, 16, 3, 3));
        float[] ws = new float[32];
        for (int i = 0; i < 32; i++) ws[i] = (float) RNG.nextDouble(0.002, 0.008);
        init.put("w_scale", Tensor.ofFloats(new Shape(32), ws));
        init.put("w_zp", random(DType.INT8, 3, 3, 32));
        init.put("y_scale", scalar(DType.FLOAT32, 0.1));
        init.put("y_zp", scalar(DType.UINT8, 128));
        init.put("bias", random(DType.INT32, -5000, 5000, 32));
        init.put("a_scale", scalar(DType.FLOAT32, 0.0113));
        init.put("a_zp", scalar(DType.UINT8, 120));
        init.put("b", random(DType.UINT8, 0, 255, 256, 64));
        init.put("b_scale", scalar(DType.FLOAT32, 0.0097));
        init.put("b_zp", scalar(DType.UINT8, 131));
        init.put("m_scale", scalar(DType.FLOAT32, 0.27));
        init.put("m_zp", scalar(DType.UINT8, 127));
        g.setNodes(List.of(
                new Node("conv", "QLinearConv", "", List.of("x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "bias"),
                        List.of("y"), Map.of("pads", new Attr.Ints(new long[] {1, 1, 1, 1})), 13),
                new Node("matmul", "QLinearMatMul", "", List.of("a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "m_scale", "m_zp"),
                        List.of("m"), Map.of(), 13)));
        g.outputs().add("y");
        g.outputs().add("m");
        return g;
    }

    private static Map<String, Tensor> feed() {
        return Map.of("x", random(DType.UINT8, 0, 255, 1, 16, 28, 28), "a", random(DType.UINT8, 0, 255, 1, 256));
    }

    @Test
    void qlinearConvAndQLinearMatMul() throws Exception {
        Graph g = model();
        Map<String, Tensor> feed = feed();
        OrtCheck.matches(dir, g, feed, 0, 0);
        // The scales keep most outputs inside the range, so rounding (not saturation) decides them.
        for (Tensor t : dev.kiln.irhigh.Evaluator.run(g, feed).values()) {
            int saturated = 0;
            for (int i = 0; i < t.size(); i++) if (t.getLong(i) == 0 || t.getLong(i) == 255) saturated++;
            assertTrue(saturated < t.size() / 10, saturated + " of " + t.size() + " outputs saturated");
        }
    }

    /**
     * MatMulInteger and QLinearMatMul with a constant weight, which the native int8 kernel computes on
     * CPUs with VNNI: odd sizes (K not a multiple of 4, N not a multiple of the vector, M = 1), int8
     * and uint8 on either side, run-time and constant zero points of A, per-column zero points and
     * scales of B; compiled for every VNNI target this machine runs and for one without (the decomposition).
     */
    @Test
    void int8MatMulsWithConstantWeights() throws Exception {
        List<Target> targets = new java.util.ArrayList<>();
        for (CpuTarget t : List.of(CpuTarget.avx512Vnni(), CpuTarget.avx2Vnni(), CpuTarget.avx2())) if (t.canRunOnHost()) targets.add(t);
        org.junit.jupiter.api.Assumptions.assumeFalse(targets.isEmpty(), "no x86 target runs here");
        int[][] shapes = {{5, 37, 19}, {1, 256, 70}, {16, 64, 48}, {3, 1, 3}};
        DType[][] types = {{DType.UINT8, DType.INT8}, {DType.INT8, DType.INT8}, {DType.UINT8, DType.UINT8}, {DType.INT8, DType.UINT8}};
        int c = 0;
        for (int[] s : shapes) {
            for (DType[] t : types) {
                c++;
                boolean perColumn = c % 2 == 0, runTimeZp = c % 3 != 0;
                Graph g = new Graph("int8_" + c);
                g.opsets().put("", 13);
                input(g, "a", t[0], s[0], s[1]);
                if (runTimeZp) input(g, "a_zp", t[0]);
                Map<String, Tensor> init = g.initializers();
                long[] ra = dev.kiln.irhigh.ops.Quantize.range(t[0]), rb = dev.kiln.irhigh.ops.Quantize.range(t[1]);
                if (!runTimeZp) init.put("a_zp", random(t[0], ra[0], ra[1]));
                init.put("b", random(t[1], rb[0], rb[1], s[1], s[2]));
                init.put("b_zp", perColumn ? random(t[1], rb[0], rb[1], s[2]) : random(t[1], rb[0], rb[1]));
                boolean qlinear = c % 4 == 1;
                if (qlinear) {
                    init.put("a_scale", scalar(DType.FLOAT32, 0.0113));
                    float[] bs = new float[s[2]];
                    for (int i = 0; i < bs.length; i++) bs[i] = (float) RNG.nextDouble(0.002, 0.01);
                    init.put("b_scale", Tensor.ofFloats(new Shape(s[2]), bs));
                    init.put("y_scale", scalar(DType.FLOAT32, 0.05 * Math.sqrt(s[1])));
                    init.put("y_zp", scalar(DType.UINT8, 128));
                    g.setNodes(List.of(new Node("mm", "QLinearMatMul", "", List.of("a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"),
                            List.of("y"), Map.of(), 13)));
                } else {
                    g.setNodes(List.of(new Node("mm", "MatMulInteger", "", List.of("a", "b", "a_zp", "b_zp"), List.of("y"), Map.of(), 13)));
                }
                g.outputs().add("y");
                Map<String, Tensor> feed = new java.util.HashMap<>(Map.of("a", random(t[0], ra[0], ra[1], s[0], s[1])));
                if (runTimeZp) feed.put("a_zp", random(t[0], ra[0], ra[1]));
                for (Target target : targets) OrtCheck.matches(dir, g, feed, 0, 0, target);
            }
        }
    }

    /**
     * ConvInteger and QLinearConv with a constant byte weight, which kiln.Int8Conv computes on CPUs with
     * VNNI: C not a multiple of 4, W not a multiple of the vector, pads, strides 1 and 2, 1x1, 3x3 and
     * 7x7, rows narrower than a vector, M = 1, int8 and uint8 inputs, run-time and constant zero points,
     * uint8 weights with per-channel zero points, QLinearConv's bias and per-channel scales; compiled for
     * every VNNI target this machine runs and for one without (the float64 decomposition).
     */
    @Test
    void int8ConvsWithConstantWeights() throws Exception {
        List<Target> targets = new java.util.ArrayList<>();
        for (CpuTarget t : List.of(CpuTarget.avx512Vnni(), CpuTarget.avx2Vnni(), CpuTarget.avx2())) if (t.canRunOnHost()) targets.add(t);
        org.junit.jupiter.api.Assumptions.assumeFalse(targets.isEmpty(), "no x86 target runs here");
        // {C, H, W, M, K, stride, pad}
        int[][] shapes = {{5, 9, 19, 3, 3, 1, 1}, {3, 23, 21, 8, 7, 2, 3}, {16, 7, 7, 33, 3, 1, 1}, {9, 14, 14, 1, 1, 2, 0}, {20, 6, 37, 17, 1, 1, 0}};
        DType[] xTypes = {DType.UINT8, DType.INT8};
        int c = 0;
        for (int[] s : shapes) {
            for (DType xt : xTypes) {
                c++;
                boolean qlinear = c % 3 == 0, runTimeZp = c % 2 == 0, uint8Weights = c % 4 == 1;
                Graph g = new Graph("int8conv_" + c);
                g.opsets().put("", 13);
                input(g, "x", xt, 1, s[0], s[1], s[2]);
                if (runTimeZp) input(g, "x_zp", xt);
                Map<String, Tensor> init = g.initializers();
                long[] rx = dev.kiln.irhigh.ops.Quantize.range(xt);
                if (!runTimeZp) init.put("x_zp", random(xt, rx[0], rx[1]));
                int m = s[3];
                if (uint8Weights) {
                    init.put("w", random(DType.UINT8, 60, 190, m, s[0], s[4], s[4]));
                    // ONNX Runtime's ConvInteger takes a per-tensor weight zero point only; QLinearConv per channel.
                    init.put("w_zp", qlinear ? random(DType.UINT8, 125, 131, m) : scalar(DType.UINT8, 128));
                } else {
                    init.put("w", random(DType.INT8, -128, 127, m, s[0], s[4], s[4]));
                    init.put("w_zp", qlinear ? Tensor.zeros(DType.INT8, new Shape(m)) : scalar(DType.INT8, 0));
                }
                Map<String, Attr> attrs = Map.of("pads", new Attr.Ints(new long[] {s[6], s[6], s[6], s[6]}), "strides", new Attr.Ints(new long[] {s[5], s[5]}));
                if (qlinear) {
                    init.put("x_scale", scalar(DType.FLOAT32, 0.0113));
                    float[] ws = new float[m];
                    for (int i = 0; i < m; i++) ws[i] = (float) RNG.nextDouble(0.002, 0.01);
                    init.put("w_scale", Tensor.ofFloats(new Shape(m), ws));
                    init.put("y_scale", scalar(DType.FLOAT32, 0.05 * Math.sqrt(s[0] * s[4] * s[4])));
                    init.put("y_zp", xt == DType.UINT8 ? scalar(DType.UINT8, 128) : scalar(DType.INT8, 0));  // ONNX Runtime: y of x's type
                    init.put("bias", random(DType.INT32, -3000, 3000, m));
                    g.setNodes(List.of(new Node("conv", "QLinearConv", "", List.of("x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "bias"),
                            List.of("y"), attrs, 13)));
                } else {
                    g.setNodes(List.of(new Node("conv", "ConvInteger", "", List.of("x", "w", "x_zp", "w_zp"), List.of("y"), attrs, 13)));
                }
                g.outputs().add("y");
                Map<String, Tensor> feed = new java.util.HashMap<>(Map.of("x", random(xt, rx[0], rx[1], 1, s[0], s[1], s[2])));
                if (runTimeZp) feed.put("x_zp", random(xt, rx[0], rx[1]));
                for (Target target : targets) OrtCheck.matches(dir, g, feed, 0, 0, target);
                assertTrue(opsAfterPasses(g, CpuTarget.avx512Vnni()).contains("Int8Conv"), g.name());
            }
        }
    }

    /** A weight given by a Constant node (as some exporters write it) takes the int8 kernel too. */
    @Test
    void int8MatMulWithAConstantNodeWeight() throws Exception {
        Graph g = new Graph("int8_constant_node");
        g.opsets().put("", 13);
        input(g, "a", DType.INT8, 7, 30);
        input(g, "a_zp", DType.INT8);
        g.setNodes(List.of(
                new Node("w", "Constant", "", List.of(), List.of("b"), Map.of("value", new Attr.TensorAttr(random(DType.INT8, -128, 127, 30, 21))), 13),
                new Node("wz", "Constant", "", List.of(), List.of("b_zp"), Map.of("value", new Attr.TensorAttr(random(DType.INT8, -128, 127, 21))), 13),
                new Node("mm", "MatMulInteger", "", List.of("a", "b", "a_zp", "b_zp"), List.of("y"), Map.of(), 13)));
        g.outputs().add("y");
        OrtCheck.matches(dir, g, Map.of("a", random(DType.INT8, -128, 127, 7, 30), "a_zp", random(DType.INT8, -128, 127)), 0, 0);
        assertTrue(opsAfterPasses(g, CpuTarget.avx512Vnni()).contains("Int8MatMul"));
    }

    /** The graph pipeline for a VNNI target keeps a constant-weight product whole for the int8 kernel; without VNNI it decomposes it. */
    @Test
    void int8KernelOnlyWhereTheTargetHasVnni() {
        Graph g = model();
        assertTrue(opsAfterPasses(g, CpuTarget.avx512Vnni()).contains("Int8MatMul"));
        assertTrue(opsAfterPasses(model(), CpuTarget.avx2Vnni()).contains("Int8MatMul"));
        assertTrue(!opsAfterPasses(model(), CpuTarget.avx512()).contains("Int8MatMul"));
    }

    private static List<String> opsAfterPasses(Graph g, Target t) {
        Graph r = dev.kiln.driver.GraphPipeline.run(g, t, (pass, graph) -> {});
        List<String> ops = new java.util.ArrayList<>();
        for (Node n : r.nodes()) {
            ops.add(n.op());
            if (dev.kiln.irhigh.passes.FuseOps.isFused(n)) dev.kiln.irhigh.passes.FuseOps.body(n).nodes().forEach(m -> ops.add(m.op()));
        }
        return ops;
    }

    /**
     * DynamicQuantizeLinear of a tensor of zeros (a ReLU that cut everything): ONNX Runtime takes
     * scale 1 and zero point 0 where the formula would divide by 0; Kiln's library and evaluator too.
     */
    @Test
    void dynamicQuantizationOfZeros() throws Exception {
        Graph g = new Graph("dql");
        g.opsets().put("", 13);
        input(g, "x", DType.FLOAT32, 2, 64);
        g.setNodes(List.of(new Node("dql", "DynamicQuantizeLinear", "", List.of("x"), List.of("y", "s", "z"), Map.of(), 13)));
        g.outputs().addAll(List.of("y", "s", "z"));
        Map<String, Tensor> zeros = Map.of("x", Tensor.zeros(DType.FLOAT32, new Shape(2, 64)));
        OrtCheck.matches(dir, g, zeros, 0, 0);
        assertEquals(1.0, dev.kiln.irhigh.Evaluator.run(g, zeros).get("s").getDouble(0));
    }

    /**
     * Two layers as ONNX Runtime's dynamic quantization writes them (DynamicQuantizeLinear, ConvInteger,
     * Cast, Mul by the two scales, Add the bias, Relu), as in the background-removal models on npm: Kiln
     * fuses the Mul and the Add into the conv's kernel but must round them one by one as ONNX Runtime
     * does. An FMA there moved a few conv outputs by one ulp, which moved the next layer's dynamic scale
     * and with it every quantized value: the outputs differed by 0.37 before.
     */
    @Test
    void dynamicallyQuantizedConvsRoundTheirScaleAndBiasSeparately() throws Exception {
        Graph g = new Graph("dynamic");
        g.opsets().put("", 13);
        input(g, "x", DType.FLOAT32, 1, 8, 32, 32);
        Map<String, Tensor> init = g.initializers();
        List<Node> nodes = new java.util.ArrayList<>();
        String in = "x";
        for (int l = 0; l < 2; l++) {
            String p = "l" + l + "_";
            init.put(p + "w", random(DType.UINT8, 0, 255, 16 - 8 * l, 8 + 8 * l, 3, 3));
            init.put(p + "w_zp", scalar(DType.UINT8, 119 + l));
            init.put(p + "w_scale", scalar(DType.FLOAT32, 0.00731 + 0.001 * l));
            float[] bias = new float[16 - 8 * l];
            for (int i = 0; i < bias.length; i++) bias[i] = (float) RNG.nextDouble(-0.3, 0.3);
            init.put(p + "bias", Tensor.ofFloats(new Shape(1, bias.length, 1, 1), bias));
            nodes.add(new Node(p + "dql", "DynamicQuantizeLinear", "", List.of(in), List.of(p + "q", p + "s", p + "z"), Map.of(), 13));
            nodes.add(new Node(p + "scales", "Mul", "", List.of(p + "s", p + "w_scale"), List.of(p + "sw"), Map.of(), 13));
            nodes.add(new Node(p + "conv", "ConvInteger", "", List.of(p + "q", p + "w", p + "z", p + "w_zp"), List.of(p + "acc"),
                    Map.of("pads", new Attr.Ints(new long[] {1, 1, 1, 1})), 13));
            nodes.add(new Node(p + "cast", "Cast", "", List.of(p + "acc"), List.of(p + "accf"), Map.of("to", new Attr.Int(DType.FLOAT32.onnxCode)), 13));
            nodes.add(new Node(p + "scale", "Mul", "", List.of(p + "accf", p + "sw"), List.of(p + "scaled"), Map.of(), 13));
            nodes.add(new Node(p + "bias", "Add", "", List.of(p + "scaled", p + "bias"), List.of(p + "biased"), Map.of(), 13));
            nodes.add(new Node(p + "relu", "Relu", "", List.of(p + "biased"), List.of(p + "y"), Map.of(), 13));
            in = p + "y";
        }
        g.setNodes(nodes);
        g.outputs().add(in);
        float[] x = new float[8 * 32 * 32];
        for (int i = 0; i < x.length; i++) x[i] = (float) RNG.nextDouble(-1, 1);
        OrtCheck.matches(dir, g, Map.of("x", Tensor.ofFloats(new Shape(1, 8, 32, 32), x)), 0, 0);
    }

    /** The float64 Conv and int32 MatMul of the decomposition at this size on this machine's OpenCL device (PoCL in CI). */
    @Test
    void onOpenCl() throws Exception {
        Target opencl;
        try {
            opencl = Target.parse("opencl");
        } catch (TargetException e) {
            org.junit.jupiter.api.Assumptions.abort("no OpenCL device here (" + e.getMessage() + ")");
            return;
        }
        Graph g = model();
        ShapeInference.run(g);
        byte[] onnx = OnnxWriter.write(g, OnnxWriter.IR_VERSION);
        Path file = dir.resolve("qlinear.onnx"), so = dir.resolve("qlinear-opencl.so");
        Files.write(file, onnx);
        Compiler.compile(file.toString(), so, new Compiler.Options(opencl, Map.of(), null, false));
        Map<String, Tensor> feed = feed();
        try (KilnLibrary kiln = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(onnx, 1)) {
            Map<String, Tensor> expected = ort.run(feed), actual = kiln.run(feed);
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(actual.get(e.getKey()), e.getValue(), 0, 0);
                assertTrue(c.ok(), "on " + opencl.name() + ", output " + e.getKey() + ": " + c.detail());
            }
        }
    }
}
