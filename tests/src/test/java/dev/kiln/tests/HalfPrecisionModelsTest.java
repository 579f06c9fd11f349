package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.targets.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * fp16 and bfloat16 models compute in fp32 and round at each op's output: Kiln's output is within
 * 2 rounding steps of the type (at the output's magnitude) of the same model computed in fp32
 * from the same rounded weights and inputs, and (fp16) within ONNX Runtime's own distance from
 * that fp32 result (plus 2 steps) of ONNX Runtime's fp16 output. The models: zoo models converted to fp16, and a
 * softmax and a mean over 8192 values, whose sums overflow fp16's range (65504) when
 * accumulated in fp16.
 */
class HalfPrecisionModelsTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} in {1}")
    @CsvSource({"mlp,float16", "mobilenetv2,float16", "lstm,float16", "wide-sums,float16", "mlp,bfloat16", "mobilenetv2,bfloat16",
                "wide-sums,bfloat16"})
    void computesInFp32AndRoundsAtOpOutputs(String model, String type) throws Exception {
        DType narrow = DType.fromNumpy(type);
        Graph g = model.equals("wide-sums") ? wideSums() : Zoo.build(model);
        Graph h = convert(g, DType.FLOAT32, narrow), f = convert(h, narrow, DType.FLOAT32);
        byte[] onnx = OnnxWriter.write(h, OnnxWriter.IR_VERSION);
        Path file = dir.resolve(model + type + ".onnx");
        Files.write(file, onnx);
        Path so = dir.resolve(model + type + ".so");
        Compiler.compile(file.toString(), so, new Compiler.Options(Target.host(), Map.of(), null, false));
        // ONNX Runtime's CPU provider has no bfloat16 kernels for these ops: bfloat16 is checked against fp32 alone.
        boolean withOrt = narrow == DType.FLOAT16;
        try (KilnLibrary kiln = new KilnLibrary(so, 1); OrtModel ort32 = new OrtModel(OnnxWriter.write(f, OnnxWriter.IR_VERSION), 1);
             OrtModel ort16 = withOrt ? new OrtModel(onnx, 1) : null) {
            Value in = h.inputs().getFirst();
            SplittableRandom rng = new SplittableRandom(3);
            double lo = model.equals("wide-sums") ? 0 : -1, hi = model.equals("wide-sums") ? 12 : 1;
            Tensor x = Tensor.generate(narrow, in.shape(), i -> rng.nextDouble(lo, hi));
            Map<String, Tensor> exact = ort32.run(Map.of(in.name(), x.cast(DType.FLOAT32))), got = kiln.run(Map.of(in.name(), x));
            Map<String, Tensor> ort = withOrt ? ort16.run(Map.of(in.name(), x)) : null;
            // One rounding step at magnitude 1: 2^-10 for float16, 2^-7 for bfloat16.
            double step = narrow == DType.FLOAT16 ? 1.0 / 1024 : 1.0 / 128;
            for (String o : exact.keySet()) {
                Tensor e = exact.get(o);
                double scale = 0;
                for (int i = 0; i < e.size(); i++) scale = Math.max(scale, Math.abs(e.getDouble(i)));
                assertTrue(scale > 1e-2, model + ": output " + o + " is nearly zero: the check would prove little");
                double ulp = Math.pow(2, Math.floor(Math.log(scale) / Math.log(2))) * step; // one step at the output's magnitude
                double kilnExact = steps(got.get(o), e, ulp);
                assertTrue(kilnExact <= 2, model + ": output " + o + " is " + kilnExact + " " + type + " steps from the fp32 computation");
                if (ort == null) continue;
                double ortExact = steps(ort.get(o), e, ulp), kilnOrt = steps(got.get(o), ort.get(o), ulp);
                assertTrue(kilnOrt <= ortExact + 2, model + ": output " + o + " is " + kilnOrt + " steps from ONNX Runtime's, which is "
                        + ortExact + " from the fp32 computation");
            }
        }
    }

    private static double steps(Tensor a, Tensor b, double ulp) {
        double worst = 0;
        for (int i = 0; i < a.size(); i++) {
            double d = Math.abs(a.getDouble(i) - b.getDouble(i));
            worst = Math.max(worst, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d / ulp);
        }
        return worst;
    }

    /** x [1, 8192] in [0, 12): softmax(x) * 8192 + mean(x), both of whose sums exceed 65504. */
    private static Graph wideSums() {
        Graph g = new Graph("wide_sums");
        g.opsets().put("", 17);
        Value x = new Value("x", DType.FLOAT32, new Shape(1, 8192));
        g.inputs().add(x);
        g.values().put("x", x);
        g.initializers().put("n", Tensor.ofFloats(Shape.SCALAR, 8192));
        g.setNodes(List.of(
                new Node("softmax", "Softmax", "", List.of("x"), List.of("p"), Map.of("axis", new Attr.Int(-1)), 17),
                new Node("scale", "Mul", "", List.of("p", "n"), List.of("ps"), Map.of(), 17),
                new Node("mean", "ReduceMean", "", List.of("x"), List.of("m"), Map.of("axes", new Attr.Ints(new long[] {-1})), 17),
                new Node("sum", "Add", "", List.of("ps", "m"), List.of("y"), Map.of(), 17)));
        g.outputs().add("y");
        return g;
    }

    /** The model with every {@code from} tensor (weights, constants, inputs, outputs, Cast targets) in {@code to}. */
    static Graph convert(Graph g, DType from, DType to) {
        Graph h = new Graph(g.name() + "_" + to.numpyName);
        h.opsets().putAll(g.opsets());
        for (Value v : g.inputs()) {
            Value w = v.dtype() == from ? new Value(v.name(), to, v.shape()) : v;
            h.inputs().add(w);
            h.values().put(w.name(), w);
        }
        for (var e : g.initializers().entrySet()) h.initializers().put(e.getKey(), convert(e.getValue(), from, to));
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            Map<String, Attr> attrs = new LinkedHashMap<>();
            for (var e : n.attrs().entrySet()) {
                Attr a = e.getValue();
                if (a instanceof Attr.TensorAttr(Tensor t)) a = new Attr.TensorAttr(convert(t, from, to));
                if (n.op().equals("Cast") && e.getKey().equals("to") && a instanceof Attr.Int(long t) && t == from.onnxCode) a = new Attr.Int(to.onnxCode);
                attrs.put(e.getKey(), a);
            }
            nodes.add(new Node(n.name(), n.op(), n.domain(), n.inputs(), n.outputs(), attrs, n.opset()));
        }
        h.setNodes(nodes);
        for (String o : g.outputs()) {
            h.outputs().add(o);
            Value v = g.values().get(o);
            if (v != null) h.values().put(o, v.dtype() == from ? new Value(o, to, v.shape()) : v);
        }
        return h;
    }

    private static Tensor convert(Tensor t, DType from, DType to) {
        return t.dtype() == from ? t.cast(to) : t;
    }
}
