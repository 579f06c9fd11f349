package dev.kiln.driver;

import dev.kiln.frontend.Npy;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a compiled library on inputs from .npy files (random inputs when none are given).")
final class RunCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "LIB.so", description = "a library written by 'kiln compile'")
    Path library;

    @Option(names = "--input", paramLabel = "NAME=FILE.npy", description = "an input's value (repeatable); inputs not given are random")
    List<String> inputs;

    @Option(names = "--output-dir", paramLabel = "DIR", description = "write each output as DIR/NAME.npy")
    Path outputDir;

    @Option(names = "--threads", defaultValue = "0", description = "worker threads (0 = one per core)")
    int threads;

    @Mixin
    ProfileOptions profiling = new ProfileOptions();

    @Option(names = "--runs", defaultValue = "20", description = "with --profile: profiled runs (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the random inputs")
    long seed;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        try (KilnLibrary lib = new KilnLibrary(library, threads)) {
            Map<String, Tensor> values = lib.randomInputs(seed);
            Map<String, Tensor> given = new LinkedHashMap<>();
            if (inputs != null) {
                for (String s : inputs) {
                    int eq = s.indexOf('=');
                    if (eq <= 0) throw new KilnException("--input '" + s + "': expected NAME=FILE.npy");
                    given.put(s.substring(0, eq), Npy.read(Path.of(s.substring(eq + 1))));
                }
            }
            values.putAll(given);
            long t = System.nanoTime();
            Map<String, Tensor> out = lib.run(values);
            double ms = (System.nanoTime() - t) / 1e6;
            for (var e : values.entrySet())
                System.out.println("input  " + e.getKey() + ": " + describe(e.getValue()) + (given.containsKey(e.getKey()) ? "" : " (random, seed " + seed + ")"));
            for (var e : out.entrySet()) {
                System.out.println("output " + e.getKey() + ": " + describe(e.getValue()) + " " + summary(e.getValue()));
                if (outputDir != null) {
                    Path p = outputDir.resolve(Npy.fileName(e.getKey()));
                    Npy.write(p, e.getValue());
                    System.out.println("  wrote " + p);
                }
            }
            System.out.printf("ran in %.2f ms (first run, including warm-up)%n", ms);
            if (profiling.enabled()) {
                if (runs < 1) throw new KilnException("--runs must be at least 1");
                int used = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
                Profiler.report(lib, library, used, 3, runs, profiling.traceFile);
            }
        }
        return 0;
    }

    private static String summary(Tensor t) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY, sum = 0;
        int argmax = 0;
        for (int i = 0; i < t.size(); i++) {
            double v = t.getDouble(i);
            min = Math.min(min, v);
            if (v > max) {
                max = v;
                argmax = i;
            }
            sum += v;
        }
        return String.format("min %.4g max %.4g mean %.4g argmax %d", min, max, sum / Math.max(1, t.size()), argmax);
    }

    private static String describe(Tensor t) {
        return t.dtype().numpyName + t.shape();
    }
}
