package dev.kiln.driver.tune;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.runner.Runner;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.TensorData;
import dev.kiln.autotune.tune.TunedConfigs;
import dev.kiln.driver.Compiler;
import dev.kiln.irhigh.KilnException;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The check at the end of {@code kiln tune}: the model's whole library, compiled on default
 * configs and on the tuned ones (as {@code kiln compile --db} would), timed end to end by the same
 * runner and on the same threads as the candidates, the two alternating. What the tuned kernels'
 * estimate (the sum of isolated measurements) is worth is then in plain sight next to it.
 */
public final class EndToEnd {
    private EndToEnd() {}

    /** Milliseconds per inference of each library (the median of its {@link #ROUNDS} measurements); kernels the tuned one schedules with tuned configs. */
    public record Result(double defaultMs, double tunedMs, int tunedKernels) {
        public double speedup() {
            return defaultMs / tunedMs;
        }
    }

    /**
     * Measurements of each library, alternating (after one of each not kept: the runner's first
     * runs of a library after the compiles pay for waking up), so that the drift of a shared
     * machine, which comes and goes over seconds, touches both alike; each library's figure is the
     * median of its measurements.
     */
    static final int ROUNDS = 7;

    /**
     * Compiles {@code model} twice and times both libraries with {@code runner} on {@code threads}
     * threads (0: one per core); {@code inputs}: how many inputs the model's library takes.
     */
    public static Result measure(String model, Map<String, long[]> inputShapes, Map<String, List<String>> inputValues, Target target,
                                 TuningDatabase db, Runner runner, int threads, int inputs) {
        return measure(model, inputShapes, inputValues, target, dev.kiln.driver.Precision.FP32, db, runner, threads, inputs);
    }

    /** {@link #measure} of the libraries compiled with {@code precision}. */
    public static Result measure(String model, Map<String, long[]> inputShapes, Map<String, List<String>> inputValues, Target target,
                                 dev.kiln.driver.Precision precision, TuningDatabase db, Runner runner, int threads, int inputs) {
        Path dir = tempDir("kiln-end-to-end-");
        try {
            TunedConfigs tuned = new TunedConfigs(db);
            byte[] def = compile(model, inputShapes, inputValues, target, precision, ConfigSource.DEFAULTS, dir.resolve("default.so"));
            byte[] tun = compile(model, inputShapes, inputValues, target, precision, tuned, dir.resolve("tuned.so"));
            double[] ms = timeAlternating(runner, List.of(def, tun), threads, inputs);
            return new Result(ms[0], ms[1], tuned.tunedKernels().size());
        } finally {
            deleteQuietly(dir);
        }
    }

    /**
     * Milliseconds per inference of each of {@code libraries} (the median of {@link #ROUNDS}
     * measurements, the libraries taking turns after one unkept measurement of each).
     */
    static double[] timeAlternating(Runner runner, List<byte[]> libraries, int threads, int inputs) {
        int n = libraries.size();
        double[][] t = new double[n][ROUNDS];
        for (int i = 0; i < n; i++) time(runner, "library " + i, libraries.get(i), threads, inputs);
        for (int r = 0; r < ROUNDS; r++)
            for (int i = 0; i < n; i++) t[i][r] = time(runner, "library " + i, libraries.get(i), threads, inputs);
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) ms[i] = median(t[i]) * 1e3;
        return ms;
    }

    /** A new temporary directory for libraries being compiled ({@link #deleteQuietly} removes it). */
    static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new KilnException("cannot create a temporary directory for the libraries to time: " + e.getMessage(), e);
        }
    }

    static void deleteQuietly(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) Files.deleteIfExists(p);
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // leftover temporary files are harmless
        }
    }

    /**
     * The summary line: both libraries end to end, and the kernels' estimate calibrated by the
     * default library (estimated tuned x measured default / estimated default) beside the measured
     * tuned time: how far the estimate's speedup is from the one the library shows.
     */
    public static String summary(Result r, Report.Totals estimate, int threads) {
        String line = String.format(Locale.ROOT, "end to end, measured now on %s: %.3f ms on default configs, %.3f ms tuned (%.2fx; %d kernels "
                + "on tuned configs)", threads(threads), r.defaultMs(), r.tunedMs(), r.speedup(), r.tunedKernels());
        if (estimate.defaultSeconds() > 0 && estimate.tunedSeconds() > 0) {
            double calibrated = estimate.tunedSeconds() / estimate.defaultSeconds() * r.defaultMs();
            line += String.format(Locale.ROOT, "%nthe kernels' estimate calibrated by the default library (x %.3f): %.3f ms tuned, "
                    + "%+.1f %% of the measured", r.defaultMs() / (estimate.defaultSeconds() * 1e3), calibrated,
                    100 * (calibrated / r.tunedMs() - 1));
        }
        return line;
    }

    /** {@code --threads} in words: "one thread per core" for 0, else "1 thread", "2 threads". */
    static String threads(int threads) {
        return threads == 0 ? "one thread per core" : threads + (threads == 1 ? " thread" : " threads");
    }

    /** The median of {@code xs}; NaN when empty. */
    static double median(double[] xs) {
        if (xs.length == 0) return Double.NaN;
        double[] s = xs.clone();
        java.util.Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static byte[] compile(String model, Map<String, long[]> inputShapes, Map<String, List<String>> inputValues, Target target,
                          ConfigSource configs, Path so) {
        return compile(model, inputShapes, inputValues, target, dev.kiln.driver.Precision.FP32, configs, so);
    }

    static byte[] compile(String model, Map<String, long[]> inputShapes, Map<String, List<String>> inputValues, Target target,
                          dev.kiln.driver.Precision precision, ConfigSource configs, Path so) {
        Compiler.compile(model, so, new Compiler.Options(target, inputShapes, null, false, configs, dev.kiln.codegen.Packaging.LIBRARY, null,
                inputValues, precision));
        try {
            return Files.readAllBytes(so);
        } catch (IOException e) {
            throw new KilnException("cannot read the library compiled for the end-to-end check: " + e.getMessage(), e);
        }
    }

    /** Seconds per inference: the mean of the runner's timings (runs back to back, as a served model runs). */
    private static double time(Runner runner, String which, byte[] library, int threads, int inputs) {
        MeasureRequest.Builder b = MeasureRequest.newBuilder()
                .setCandidateId("end-to-end/" + which)
                .setLibrary(ByteString.copyFrom(library))
                .setThreads(threads)
                .setRepeat(3).setMaxRepeat(3)
                .setMinRepeatMs(25).setWarmup(3)
                .setTimeoutMs(120_000);
        for (int i = 0; i < inputs; i++) b.addInputs(TensorData.newBuilder().setSeed(i + 1));
        MeasureResult m = runner.measure(b.build());
        if (m.getStatus() != MeasureResult.Status.OK)
            throw new KilnException("timing the " + which + " library end to end failed (" + m.getStatus() + "): " + m.getError());
        return m.getCostsList().stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }
}
