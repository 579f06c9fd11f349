package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.Main;
import dev.kiln.driver.OrtModel;
import dev.kiln.driver.Precision;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
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
 * {@code kiln compile --precision bf16}: zoo:bert's library with its products on bf16 against ONNX
 * Runtime's fp32, within a tolerance from bf16's 8-bit significand; the drift report; the refusal on
 * a target without the bf16 dot product.
 */
class Bf16PrecisionTest {
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

    /**
     * One bf16 step of a unit value is 2^-8 (8 significand bits, 2^-9 the rounding unit): each product's
     * operands move by at most that, so a sum by at most 2^-8 of its sum of |products|, and far less on
     * average, where independent roundings cancel. bert's LayerNorm brings every layer back to unit
     * scale (outputs about [-5, 5]), so across its two layers the mean error must stay under one step,
     * 2^-8, and no element may move by more than eight, 2^-5. (Measured: 0.0023 and 0.015.) The fp32
     * library stays within 1e-4, so the difference really is bf16's.
     */
    @Test
    void bertOnBf16StaysWithinBf16ErrorOfOnnxRuntime() throws Exception {
        CpuTarget host = Target.host();
        assumeTrue(host.hasBf16DotProduct(), "this CPU has no AVX-512 BF16");
        Path so = dir.resolve("bert.bf16.so");
        Compiler.Result r = Compiler.compile("zoo:bert", so, new Compiler.Options(host, Map.of(), null, false).withPrecision(Precision.BF16));
        long bf16 = r.weightBytesByType().getOrDefault("bfloat16", 0L);
        assertTrue(bf16 > 0.45 * 56.6e6 && bf16 < 0.55 * 56.6e6, "the weights are 2 bytes each: " + r.weightBytesByType());
        double maxErr = 0, sumErr = 0;
        long n = 0;
        try (KilnLibrary lib = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(Zoo.onnxBytes("bert"), 1)) {
            for (long seed = 0; seed < 3; seed++) {
                Map<String, Tensor> in = lib.randomInputs(seed);
                Map<String, Tensor> want = ort.run(in), got = lib.run(in);
                for (String o : want.keySet()) {
                    for (int i = 0; i < want.get(o).size(); i++) {
                        double e = Math.abs(want.get(o).getDouble(i) - got.get(o).getDouble(i));
                        maxErr = Math.max(maxErr, e);
                        sumErr += e;
                        n++;
                    }
                }
            }
        }
        double mean = sumErr / n;
        assertTrue(mean < 0x1p-8, "mean abs error " + mean);
        assertTrue(maxErr < 0x1p-5, "max abs error " + maxErr);
        assertTrue(maxErr > 1e-4, "bf16 arithmetic moves the outputs (fp32 stays within 1e-4): " + maxErr);
    }

    /**
     * resnet18 with its dense convs and its classifier on bf16: about twenty products in a row without
     * a normalization between them to rescale (batch norm is folded), outputs about [-5, 5]. Each layer
     * adds at most a 2^-8 relative error and the roundings are independent, so the mean error must stay
     * under one bf16 step of the outputs' typical magnitude 2, 2^-7, and no element may move by more
     * than 2^-4; the top-1 class must agree. (Measured: 0.0055 and 0.026, top-1 4 of 4.)
     */
    @Test
    void resnet18OnBf16StaysWithinBf16ErrorOfOnnxRuntime() throws Exception {
        CpuTarget host = Target.host();
        assumeTrue(host.hasBf16DotProduct(), "this CPU has no AVX-512 BF16");
        Path so = dir.resolve("r18.bf16.so");
        Compiler.Result r = Compiler.compile("zoo:resnet18", so, new Compiler.Options(host, Map.of(), null, false).withPrecision(Precision.BF16));
        assertTrue(r.weightBytesByType().getOrDefault("bfloat16", 0L) > 0.45 * 46.7e6, "convs and classifier in 2 bytes: " + r.weightBytesByType());
        double maxErr = 0, sumErr = 0;
        long n = 0;
        try (KilnLibrary lib = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(Zoo.onnxBytes("resnet18"), 1)) {
            for (long seed = 0; seed < 3; seed++) {
                Map<String, Tensor> in = lib.randomInputs(seed);
                Tensor want = ort.run(in).get("output"), got = lib.run(in).get("output");
                int best = 0, bestGot = 0;
                for (int i = 0; i < want.size(); i++) {
                    double e = Math.abs(want.getDouble(i) - got.getDouble(i));
                    maxErr = Math.max(maxErr, e);
                    sumErr += e;
                    n++;
                    if (want.getDouble(i) > want.getDouble(best)) best = i;
                    if (got.getDouble(i) > got.getDouble(bestGot)) bestGot = i;
                }
                assertEquals(best, bestGot, "top-1 class, input " + seed);
            }
        }
        assertTrue(sumErr / n < 0x1p-7, "mean abs error " + sumErr / n);
        assertTrue(maxErr < 0x1p-4, "max abs error " + maxErr);
        assertTrue(maxErr > 1e-4, "bf16 arithmetic moves the outputs: " + maxErr);
    }

    @Test
    void compileReportsTheDrift() {
        assumeTrue(Target.host().hasBf16DotProduct(), "this CPU has no AVX-512 BF16");
        String report = kiln(0, "compile", "zoo:mlp", "--precision", "bf16", "-o", dir.resolve("mlp.so").toString(), "--drift-samples", "2");
        assertTrue(report.contains("bfloat16"), report);
        assertTrue(report.matches("(?s).*drift over 2 random inputs.*max abs error [0-9.e-]+, mean abs error.*"), report);
    }

    @Test
    void refusedWhereTheTargetHasNoBf16DotProduct() {
        Path so = dir.resolve("mlp.so");
        String out = kiln(1, "compile", "zoo:mlp", "--precision", "bf16", "--target", "x86_64-avx512-vnni", "-o", so.toString());
        assertTrue(out.contains("--precision bf16 needs a CPU with the bfloat16 dot product") && out.contains("avx512_bf16")
                && out.contains("x86_64-avx512-vnni"), out);
        assertFalse(Files.exists(so), "nothing written");
        assertTrue(kiln(1, "compile", "zoo:mlp", "--precision", "fp16", "-o", so.toString()).contains("expected fp32 or bf16"));
        assertTrue(kiln(1, "compile", "zoo:mlp", "--precision", "bf16", "--target", "cuda-sm90", "-o", so.toString()).contains("being no CPU"));
    }
}
