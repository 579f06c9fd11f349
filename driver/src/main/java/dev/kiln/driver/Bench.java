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
     * Kiln's pool for a few thousand polls); with more than one thread and runs back to back,
     * those spinners take a core from the other runtime's next run, whose barriers then wait for
     * a descheduled thread. The pause, the same before every run of either, lets them park, so
     * each run is timed as it would run alone on the machine.
     */
    public static Result run(KilnLibrary kiln, OrtModel ort, Map<String, Tensor> inputs, int warmup, int runs, long pauseMs) {
        kiln.prepare(inputs);
        ort.prepare(inputs);
        double[][] t = alternate(java.util.List.of(kiln::runPrepared, ort::runPrepared), warmup, runs, pauseMs);
        Agreement c = compare(kiln, ort);
        return new Result(median(t[0]), median(t[1]), Arrays.stream(t[0]).min().orElse(0), Arrays.stream(t[1]).min().orElse(0), runs,
                c.maxAbsError(), c.ok());
    }

    /**
     * Times each of {@code runners} {@code runs} times, one run of each in turn, the order rotating
     * every round so that none always runs on a cache warmed by another; {@code warmup} untimed
     * rounds first. Returns the milliseconds, {@code [runner][run]}.
     */
    static double[][] alternate(java.util.List<Runnable> runners, int warmup, int runs, long pauseMs) {
        int n = runners.size();
        warmUp(runners, warmup);
        double[][] t = new double[n][runs];
        for (int i = 0; i < runs; i++)
            for (int j = 0; j < n; j++) {
                int r = (i + j) % n;
                t[r][i] = time(runners.get(r), pauseMs);
            }
        return t;
    }

    /** Warm-up time below which more warm-up rounds run (see {@link #warmUp}). */
    static final long WARMUP_NANOS = 300_000_000L;

    /**
     * Runs every runner {@code rounds} times, and then more rounds until {@link #WARMUP_NANOS}
     * have passed (at most 5000): the JVM compiles the call path into native code only after
     * some hundreds of calls, and until then each call of a small model (the zoo's mlp, 0.08 ms)
     * costs tens of microseconds more in the interpreter than the model itself.
     */
    static void warmUp(java.util.List<Runnable> runners, int rounds) {
        long start = System.nanoTime();
        for (int i = 0; i < rounds || (i < 5000 && System.nanoTime() - start < WARMUP_NANOS); i++) runners.forEach(Runnable::run);
    }

    /** Whether outputs matched, and the largest absolute difference. */
    record Agreement(boolean ok, double maxAbsError) {}

    /** Kiln's last outputs against ONNX Runtime's (run once more), by the conformance tolerance; the worst error over all outputs. */
    static Agreement compare(KilnLibrary kiln, OrtModel ort) {
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
        return new Agreement(match, maxErr);
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
