package dev.kiln.driver;

import dev.kiln.irhigh.Tensor;
import java.util.Arrays;
import java.util.Map;

/**
 * Kiln's library and ONNX Runtime on the same inputs, in one process, alternating run by run so
 * that both see the same machine noise; reports medians and their ratio.
 */
public final class Bench {
    private Bench() {}

    public record Result(double kilnMedianMs, double ortMedianMs, double kilnMinMs, double ortMinMs, int runs,
                         double maxAbsError, boolean outputsMatch) {
        public double ratio() {
            return kilnMedianMs / ortMedianMs;
        }
    }

    public static Result run(KilnLibrary kiln, OrtModel ort, Map<String, Tensor> inputs, int warmup, int runs) {
        kiln.prepare(inputs);
        ort.prepare(inputs);
        for (int i = 0; i < warmup; i++) {
            kiln.runPrepared();
            ort.runPrepared();
        }
        double[] k = new double[runs], o = new double[runs];
        for (int i = 0; i < runs; i++) {
            // Alternate which goes first so neither always runs on a cache warmed by the other.
            if (i % 2 == 0) {
                k[i] = time(kiln::runPrepared);
                o[i] = time(ort::runPrepared);
            } else {
                o[i] = time(ort::runPrepared);
                k[i] = time(kiln::runPrepared);
            }
        }
        Map<String, Tensor> kout = kiln.outputs();
        Map<String, Tensor> oout = ort.runPrepared();
        double maxErr = 0;
        boolean match = true;
        for (var e : kout.entrySet()) {
            Tensor ref = oout.get(e.getKey());
            if (ref == null) continue;
            Compare c = Compare.of(e.getValue(), ref, 1e-4, 1e-3);
            match &= c.ok();
            maxErr = Math.max(maxErr, c.maxAbsError());
        }
        return new Result(median(k), median(o), Arrays.stream(k).min().orElse(0), Arrays.stream(o).min().orElse(0), runs, maxErr, match);
    }

    private static double time(Runnable r) {
        long t = System.nanoTime();
        r.run();
        return (System.nanoTime() - t) / 1e6;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
