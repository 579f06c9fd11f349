package dev.kiln.driver;

import dev.kiln.frontend.InputValues;
import dev.kiln.frontend.ModelSource;
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

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time a compiled library against ONNX Runtime on the same inputs, in one process, alternating; print medians and their ratio.",
                "With --op, compile and time one operator instead (no LIB.so): e.g. --op matmul --shape 1024x1024x1024."})
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "LIB.so", description = "a library written by 'kiln compile' (not with --op)")
    Path library;

    @Option(names = "--op", paramLabel = "OP", description = "benchmark one operator: matmul, gemm, matmul_integer (MxNxK), batch_matmul (BxMxNxK), conv2d (N,C,H,W,CO,KH,KW,stride,pad), relu (RxC: almost no work, so with --threads 2 its time is the fork/join cost of a parallel region)")
    String op;

    @Option(names = "--shape", paramLabel = "SHAPE", description = "the operator's sizes, with --op")
    String shape;

    @Option(names = "--target", defaultValue = "host", description = "with --op: compile for this target (e.g. opencl) and time it next to the host CPU's kernel (default: ${DEFAULT-VALUE})")
    String target;

    @Option(names = "--peak-gflops", paramLabel = "GFLOPS", description = "FMA peak of one thread in GFLOP/s, for --op's percentages "
            + "(default: measured on this machine by a short FMA probe, once per CPU, and cached)")
    Double peakGflops;

    @Option(names = "--dump-ir", paramLabel = "DIR", description = "with --op: write the IR after every step and the assembly (kernels.s) into DIR")
    Path dumpDir;

    @Option(names = "--model", paramLabel = "MODEL", description = "the model it was compiled from (file.onnx or zoo:NAME), run by ONNX Runtime")
    String model;

    @Option(names = "--baseline", paramLabel = "OTHER.so", description = "another library of the same model (e.g. untuned), "
            + "timed in the same alternation: prints both medians and their ratio")
    Path baseline;

    @Option(names = "--input-value", paramLabel = "NAME=V1,V2,..", description = "with --model: the values LIB.so was compiled with "
            + "by `kiln compile --input-value` (repeatable); ONNX Runtime is fed them")
    List<String> inputValues;

    @Option(names = "--threads", defaultValue = "1", description = "threads for both (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--runs", defaultValue = "30", description = "timed runs of each (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--warmup", defaultValue = "5", description = "untimed runs of each first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--pause-ms", paramLabel = "MS", description = "sleep before each timed run, so neither runtime's "
            + "spinning idle workers run during the other's run (default: " + Bench.DEFAULT_PAUSE_MS + " with --threads above 1, else 0)")
    Long pauseMs;

    @Mixin
    ProfileOptions profiling = new ProfileOptions();

    @Option(names = "--seed", defaultValue = "0", description = "seed of the random inputs")
    long seed;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        if (threads < 1) throw new KilnException("--threads must be at least 1");
        if (runs < 1) throw new KilnException("--runs must be at least 1");
        if (op != null) {
            if (shape == null) throw new KilnException("--op needs --shape (e.g. --op matmul --shape 1024x1024x1024)");
            if (library != null || model != null) throw new KilnException("--op builds its own one-node model: give no LIB.so or --model");
            long pause = pauseMs != null ? pauseMs : threads > 1 ? Bench.DEFAULT_PAUSE_MS : 0;
            if (pause < 0) throw new KilnException("--pause-ms must not be negative");
            return OpBench.run(op, shape, dev.kiln.targets.Target.parse(target), threads, warmup, runs, peakGflops, dumpDir, pause);
        }
        if (!target.equals("host")) throw new KilnException("--target is for --op: a library already knows its target");
        boolean profiled = profiling.enabled();
        if (library == null) throw new KilnException("give LIB.so and --model MODEL (or --op and --shape)");
        if (model == null && !profiled) throw new KilnException("give --model MODEL (the model LIB.so was compiled from), or --profile");
        if (model == null) {
            try (KilnLibrary kiln = new KilnLibrary(library, threads)) {
                kiln.prepare(kiln.randomInputs(seed));
                Profiler.report(kiln, library, threads, warmup, runs, profiling.traceFile);
                return 0;
            }
        }
        byte[] onnx = onnxBytes(model);
        if (baseline != null) return withBaseline(onnx);
        try (KilnLibrary kiln = new KilnLibrary(library, threads); OrtModel ort = new OrtModel(onnx, threads)) {
            fixInputValues(kiln, ort);
            long pause = pauseMs != null ? pauseMs : threads > 1 ? Bench.DEFAULT_PAUSE_MS : 0;
            if (pause < 0) throw new KilnException("--pause-ms must not be negative");
            var r = Bench.run(kiln, ort, kiln.randomInputs(seed), warmup, runs, pause);
            System.out.printf("%s, %d thread(s), %d runs alternating after %d or more warm-up runs (0.3 s at least)%s%n", model, threads, runs, warmup,
                    pause > 0 ? ", " + pause + " ms pause before each (--pause-ms)" : "");
            System.out.printf("  kiln         median %8.3f ms   min %8.3f ms%n", r.kilnMedianMs(), r.kilnMinMs());
            System.out.printf("  onnxruntime  median %8.3f ms   min %8.3f ms%n", r.ortMedianMs(), r.ortMinMs());
            System.out.printf("  ratio kiln/onnxruntime (medians): %.3f%n", r.ratio());
            System.out.printf("  outputs %s (max |kiln - onnxruntime| = %.3g)%n", r.outputsMatch() ? "match" : "DIFFER", r.maxAbsError());
            if (profiled) Profiler.report(kiln, library, threads, warmup, runs, profiling.traceFile);
            return r.outputsMatch() ? 0 : 1;
        }
    }

    /** LIB.so, OTHER.so and ONNX Runtime, alternating; both libraries checked against ONNX Runtime. */
    private int withBaseline(byte[] onnx) {
        try (KilnLibrary kiln = new KilnLibrary(library, threads); KilnLibrary base = new KilnLibrary(baseline, threads);
             OrtModel ort = new OrtModel(onnx, threads)) {
            fixInputValues(kiln, ort);
            long pause = pauseMs != null ? pauseMs : threads > 1 ? Bench.DEFAULT_PAUSE_MS : 0;
            if (pause < 0) throw new KilnException("--pause-ms must not be negative");
            var inputs = kiln.randomInputs(seed);
            kiln.prepare(inputs);
            base.prepare(inputs);
            ort.prepare(inputs);
            double[][] t = Bench.alternate(java.util.List.of(kiln::runPrepared, base::runPrepared, ort::runPrepared), warmup, runs, pause);
            var a = Bench.compare(kiln, ort);
            var b = Bench.compare(base, ort);
            double k = Bench.median(t[0]), o = Bench.median(t[1]), x = Bench.median(t[2]);
            System.out.printf("%s, %d thread(s), %d runs alternating after %d or more warm-up runs (0.3 s at least)%s%n", model, threads, runs, warmup,
                    pause > 0 ? ", " + pause + " ms pause before each (--pause-ms)" : "");
            System.out.printf("  %-12s median %8.3f ms  (%s)%n", "kiln", k, library);
            System.out.printf("  %-12s median %8.3f ms  (%s)%n", "baseline", o, baseline);
            System.out.printf("  %-12s median %8.3f ms%n", "onnxruntime", x);
            System.out.printf("  ratio kiln/baseline (medians): %.3f   kiln/onnxruntime: %.3f   baseline/onnxruntime: %.3f%n", k / o, k / x, o / x);
            System.out.printf("  outputs %s (max |kiln - onnxruntime| = %.3g, |baseline - onnxruntime| = %.3g)%n",
                    a.ok() && b.ok() ? "match" : "DIFFER", a.maxAbsError(), b.maxAbsError());
            return a.ok() && b.ok() ? 0 : 1;
        }
    }

    /** Feeds ONNX Runtime the --input-value values, in the dtypes and shapes the model gives those inputs. */
    private void fixInputValues(KilnLibrary kiln, OrtModel ort) {
        var values = InputValues.parse(inputValues);
        if (values.isEmpty()) return;
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (var in : kiln.inputInfo()) shapes.put(in.name(), in.shape());
        var g = ModelSource.load(model, shapes, values);
        Map<String, Tensor> fixed = new LinkedHashMap<>();
        for (String name : values.keySet()) fixed.put(name, g.initializers().get(name));
        ort.fix(fixed);
    }

    static byte[] onnxBytes(String model) {
        return ModelSource.onnxBytes(model);
    }

}
