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

    /** Pause before each timed run when both runtimes run teams of threads (see {@link #run(KilnLibrary, OrtModel, Map, int, int, long)}). */
    public static final long DEFAULT_PAUSE_MS = 50;

    public static Result run(KilnLibrary kiln, OrtModel ort, Map<String, Tensor> inputs, int warmup, int runs) {
        return run(kiln, ort, inputs, warmup, runs, 0);
    }

    /**
     * As above, sleeping {@code pauseMs} before each timed run. Both runtimes keep their idle
     * worker threads spinning for a while after a run (ONNX Runtime's for more than 10 ms,
     * libgomp's for GOMP_SPINCOUNT iterations); with more than one thread and runs back to back,
     * those spinners take a core from the other runtime's next run, whose barriers then wait for
     * a descheduled thread. The pause, the same before every run of either, lets them park, so
     * each run is timed as it would run alone on the machine.
     */
    public static Result run(KilnLibrary kiln, OrtModel ort, Map<String, Tensor> inputs, int warmup, int runs, long pauseMs) {
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
                k[i] = time(kiln::runPrepared, pauseMs);
                o[i] = time(ort::runPrepared, pauseMs);
            } else {
                o[i] = time(ort::runPrepared, pauseMs);
                k[i] = time(kiln::runPrepared, pauseMs);
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

    private static double time(Runnable r, long pauseMs) {
        if (pauseMs > 0) {
            try {
                Thread.sleep(pauseMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
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
