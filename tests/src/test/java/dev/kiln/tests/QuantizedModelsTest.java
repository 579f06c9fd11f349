package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.Main;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.Npy;
import dev.kiln.frontend.OnnxReader;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln quantize} end to end: the QDQ model it writes runs in ONNX Runtime and in Kiln, their
 * outputs agree far inside the quantization's own error, and the weights shrink to a quarter.
 */
class QuantizedModelsTest {
    @TempDir
    Path dir;

    private static String kiln(int expectedCode, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        java.io.PrintStream stdout = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(printed, true));
        int code;
        try {
            code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        } finally {
            System.setOut(stdout);
        }
        String all = printed + out.toString() + err;
        assertEquals(expectedCode, code, all);
        return all;
    }

    private static long initializerBytes(ModelProto m) {
        long n = 0;
        for (TensorProto t : m.getGraph().getInitializerList()) n += t.getRawData().size() + 4L * t.getFloatDataCount();
        return n;
    }

    @Test
    void quantizedMobileNetRunsInKilnAsInOnnxRuntime() throws Exception {
        Path q = dir.resolve("mnv2.int8.onnx");
        String report = kiln(0, "quantize", "zoo:mobilenetv2", "-o", q.toString(), "--calibrate", "random:8", "--per-channel");
        assertTrue(report.contains("top-1 agrees on"), report);
        byte[] original = Zoo.onnxBytes("mobilenetv2"), quantized = Files.readAllBytes(q);
        ModelProto qm = OnnxReader.parseModel(quantized, "q");
        long convs = qm.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).count();
        long weightDq = qm.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("DequantizeLinear")
                && n.getAttributeList().stream().anyMatch(a -> a.getName().equals("axis"))).count();
        assertTrue(weightDq >= convs, "every conv weight is dequantized per channel: " + weightDq + " of " + convs);
        double share = (double) initializerBytes(qm) / initializerBytes(OnnxReader.parseModel(original, "f"));
        assertTrue(share <= 0.27, "the quantized model's initializers take " + share + " of the float model's");
        sameAsOnnxRuntime(q, original, quantized, true);
    }

    /**
     * resnet18's QDQ model: on a CPU with the byte dot product every conv is an int8 conv (kiln.Int8Conv)
     * whose weights stay bytes in the library (the float classifier remains), and its outputs are as close
     * to ONNX Runtime's as ONNX Runtime's own are to each other, top-1 equal.
     */
    @Test
    void quantizedResNetKeepsItsConvWeightsInBytes() throws Exception {
        Path q = dir.resolve("r18.int8.onnx");
        kiln(0, "quantize", "zoo:resnet18", "-o", q.toString(), "--calibrate", "random:8");
        Compiler.Result r = sameAsOnnxRuntime(q, Zoo.onnxBytes("resnet18"), Files.readAllBytes(q), true);
        Compiler.Result f = Compiler.compile("zoo:resnet18", dir.resolve("r18.so"), new Compiler.Options(Target.host(), Map.of(), null, false));
        if (Target.host() instanceof CpuTarget cpu && OpInventory.int8MatMul(cpu)) {
            double share = (double) r.weightBytes() / f.weightBytes();
            assertTrue(share <= 0.27, "the int8 library's weights take " + share + " of the float library's: " + r.weightBytesByType());
            assertTrue(r.weightBytesByType().getOrDefault("int8", 0L) > 0.9 * r.weightBytes(), r.weightBytesByType().toString());
        }
    }

    /**
     * bert's QDQ model: on a CPU with the byte dot product its MatMuls with int8 weights run on the int8
     * kernel, the library keeps those weights in bytes (at most 27 % of the float library's weights),
     * and its outputs are as close to ONNX Runtime's as ONNX Runtime's own are to each other.
     */
    @Test
    void quantizedBertKeepsItsWeightsInBytes() throws Exception {
        Path q = dir.resolve("bert.int8.onnx");
        kiln(0, "quantize", "zoo:bert", "-o", q.toString(), "--calibrate", "random:4");
        Compiler.Result r = sameAsOnnxRuntime(q, Zoo.onnxBytes("bert"), Files.readAllBytes(q), false);
        Compiler.Result f = Compiler.compile("zoo:bert", dir.resolve("bert.so"), new Compiler.Options(Target.host(), Map.of(), null, false));
        if (Target.host() instanceof CpuTarget cpu && OpInventory.int8MatMul(cpu)) {
            double share = (double) r.weightBytes() / f.weightBytes();
            assertTrue(share <= 0.27, "the int8 library's weights take " + share + " of the float library's: " + r.weightBytesByType());
            assertTrue(r.weightBytesByType().getOrDefault("int8", 0L) > 0.9 * r.weightBytes(), r.weightBytesByType().toString());
        }
    }

    /**
     * Compiles the QDQ model for the host and checks its outputs on random inputs: as close to ONNX
     * Runtime's as ONNX Runtime optimizing the graph is to ONNX Runtime running it as written (twice
     * that, at most), and (for a classifier) the same top-1.
     */
    private Compiler.Result sameAsOnnxRuntime(Path q, byte[] original, byte[] quantized, boolean classifier) throws Exception {
        Path so = dir.resolve(q.getFileName() + ".so");
        Compiler.Result result = Compiler.compile(q.toString(), so, new Compiler.Options(Target.host(), Map.of(), null, false));
        try (KilnLibrary lib = new KilnLibrary(so, 1); OrtModel ortQ = new OrtModel(quantized, 1); OrtModel ortPlain = new OrtModel(quantized, 1, false);
             OrtModel ortF = new OrtModel(original, 1)) {
            Spread kilnVsOrt = new Spread(), ortVsItself = new Spread(), quantError = new Spread();
            int agree = 0, samples = 4;
            for (int s = 0; s < samples; s++) {
                Map<String, Tensor> in = lib.randomInputs(100 + s);
                Tensor k = lib.run(in).values().iterator().next(), o = ortQ.run(in).values().iterator().next();
                kilnVsOrt.add(k, o);
                ortVsItself.add(ortPlain.run(in).values().iterator().next(), o);
                quantError.add(ortF.run(in).values().iterator().next(), o);
                if (argmax(k) == argmax(o)) agree++;
            }
            // An activation right at a rounding boundary lands one level up or down depending on the order a
            // product sums in, and the change cascades through the later quantized layers: ONNX Runtime
            // optimizing the graph or running it as written differs by that much. Kiln must be no further.
            String what = q.getFileName() + ": Kiln vs ONNX Runtime on the QDQ model: " + kilnVsOrt + "; ONNX Runtime optimized vs as written: "
                    + ortVsItself + "; the float model vs the quantized one: " + quantError;
            System.out.println(what);
            assertTrue(quantError.max > 0, what);
            assertTrue(kilnVsOrt.max <= 2 * ortVsItself.max && kilnVsOrt.mean() <= 2 * ortVsItself.mean(), what);
            if (classifier) assertEquals(samples, agree, "top-1 of Kiln and ONNX Runtime on the QDQ model");
        }
        return result;
    }

    /** The largest and mean absolute differences of float outputs. */
    private static final class Spread {
        double max, sum;
        long n;

        void add(Tensor a, Tensor b) {
            for (int i = 0; i < a.size(); i++) {
                double d = Math.abs(a.getDouble(i) - b.getDouble(i));
                max = Math.max(max, d);
                sum += d;
            }
            n += a.size();
        }

        double mean() {
            return sum / n;
        }

        @Override
        public String toString() {
            return String.format("max %.4g, mean %.4g", max, mean());
        }
    }

    private static int argmax(Tensor t) {
        int best = 0;
        for (int i = 1; i < t.size(); i++) if (t.getDouble(i) > t.getDouble(best)) best = i;
        return best;
    }

    @Test
    void calibratesFromADirectoryOfSamplesWithEveryMethod() throws Exception {
        Path data = dir.resolve("calib");
        for (int s = 0; s < 3; s++) {
            Path d = Files.createDirectories(data.resolve("sample" + s));
            float[] x = new float[1 * 784];
            java.util.Random r = new java.util.Random(s);
            for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
            Npy.write(d.resolve("input.npy"), Tensor.ofFloats(dev.kiln.irhigh.Shape.of(1, 784), x));
        }
        for (String method : new String[] {"minmax", "percentile", "entropy"}) {
            Path q = dir.resolve("mlp-" + method + ".onnx");
            String report = kiln(0, "quantize", "zoo:mlp", "-o", q.toString(), "--calibrate", data.toString(), "--method", method,
                    "--activations", "int8");
            assertTrue(report.contains("from 3 calibration inputs"), report);
            ModelProto m = OnnxReader.parseModel(Files.readAllBytes(q), method);
            for (NodeProto n : m.getGraph().getNodeList()) {
                if (n.getOpType().equals("QuantizeLinear")) {
                    TensorProto zp = m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(n.getInput(2))).findFirst().orElseThrow();
                    assertEquals(TensorProto.DataType.INT8_VALUE, zp.getDataType(), "int8 activations");
                }
            }
            try (OrtModel ort = new OrtModel(Files.readAllBytes(q), 1)) {
                assertEquals(1, ort.outputNames().size());
            }
        }
    }

    @Test
    void badRequestsSayWhatIsWrong() {
        Path q = dir.resolve("x.onnx");
        assertTrue(kiln(1, "quantize", "zoo:mlp", "-o", q.toString(), "--exclude", "no_such_node").contains("no node named 'no_such_node'"));
        assertTrue(kiln(1, "quantize", "zoo:mlp", "-o", q.toString(), "--calibrate", dir.resolve("nothing").toString()).contains("no such directory"));
        assertTrue(kiln(1, "quantize", "zoo:mlp", "-o", q.toString(), "--calibrate", "random:x").contains("expected random:N"));
        assertTrue(kiln(1, "quantize", "zoo:mlp", "-o", q.toString(), "--method", "best").contains("expected minmax, percentile or entropy"));
        assertTrue(Files.notExists(q), "nothing written on an error");
        Path once = dir.resolve("once.onnx");
        kiln(0, "quantize", "zoo:mlp", "-o", once.toString(), "--calibrate", "random:2");
        assertTrue(kiln(1, "quantize", once.toString(), "-o", q.toString()).contains("the model is quantized already"));
        assertTrue(Files.notExists(q), "nothing written on an error");
    }
}
