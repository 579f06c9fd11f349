package dev.kiln.driver;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningDbException;
import dev.kiln.autotune.pack.PackPull;
import dev.kiln.autotune.tune.TunedConfigs;
import dev.kiln.codegen.Packaging;
import dev.kiln.driver.tune.Databases;
import dev.kiln.frontend.InputValues;
import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.KilnException;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "compile", mixinStandardHelpOptions = true,
        description = "Compile an ONNX model (or zoo:NAME) into a native shared library OUT.so and its C header OUT.h, "
                + "or (--emit exe) into a standalone program OUT.")
final class CompileCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "model.onnx, or zoo:NAME for a built-in model (see 'kiln zoo')")
    String model;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "the library OUT.so to write (the header goes beside it), or the program with --emit exe")
    Path output;

    @Option(names = "--target", defaultValue = "host", description = "x86_64-avx512, x86_64-avx2, aarch64-neon[:CPU] (CPU: "
            + "cortex-a53, cortex-a72 (default), cortex-a76, neoverse-n1, neoverse-v1, apple-m1), opencl[:PROFILE|DEVICE], "
            + "cuda-sm75|sm80|sm86|sm89|sm90 (PTX, also written as OUT.ptx), cuda (this machine's GPU) (see 'kiln devices') or host (default: ${DEFAULT-VALUE})")
    String target;

    @Option(names = "--emit", defaultValue = "lib", paramLabel = "lib|exe", description = "lib: OUT.so and OUT.h (default); "
            + "exe: a program 'OUT [--input NAME=FILE.npy ..] [--output-dir DIR] [--threads N] [--bench RUNS]'")
    String emit;

    @Option(names = "--static", description = "with --emit exe: link everything in (runs on any Linux of the architecture, and under qemu without -L)")
    boolean isStatic;

    @Option(names = "--sysroot", paramLabel = "DIR", description = "the target's root file system to link against "
            + "(default: this system for its own architecture, /usr/aarch64-linux-gnu for aarch64 from x86)")
    Path sysroot;

    @Option(names = "--input-shape", paramLabel = "NAME=D1,D2,..", description = "bind an input's dynamic dimensions (repeatable)")
    List<String> inputShapes;

    @Option(names = "--input-value", paramLabel = "NAME=V1,V2,..", description = "bind an input that decides shapes (a Reshape's shape, "
            + "a Slice's starts, a Resize's sizes, reduction axes) to these values at compile time; the library no longer takes it (repeatable)")
    List<String> inputValues;

    @Option(names = "--dump-ir", paramLabel = "DIR", description = "write the graph after each pass, each kernel's loop IR after each lowering step, and the LLVM IR and assembly under DIR")
    Path dumpDir;

    @Option(names = "--db", paramLabel = "URL", description = "schedule kernels with the best configs of this tuning database "
            + "(jdbc:sqlite:FILE, jdbc:postgresql://HOST/DB or a file path; default: ~/.kiln/tuning.db if it exists)")
    String db;

    @Option(names = "--cache-url", paramLabel = "URL", description = "first pull the target's packs from this pack cache into the database "
            + "(http(s)://HOST:PORT/ of a 'kiln cache serve', http(s)://HOST/NAME.kpack, file:///DIR/ or file:///DIR/NAME.kpack; "
            + "creates ~/.kiln/tuning.db when there is no --db); unreachable, it warns once and compiles with the local records")
    String cacheUrl;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16", description = "fp32: the model's own arithmetic "
            + "(default); bf16: MatMuls and Gemms with constant weights, and dense convs over whole channel blocks, on bfloat16 weights "
            + "(2 bytes each in the library) and activations, summed in fp32, on CPUs with AVX-512 BF16; prints the outputs' drift against the float model in ONNX Runtime")
    String precision;

    @Option(names = "--drift-samples", defaultValue = "4", paramLabel = "N", description = "with --precision bf16: random inputs "
            + "(seeded; floats in [-1, 1), integers in [0, 10)) the drift is measured on; 0 skips it (default: ${DEFAULT-VALUE})")
    int driftSamples;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        Target t = Target.parse(target);
        Precision p = Precision.parse(precision);
        p.check(t);
        Packaging packaging = packaging();
        Optional<TuningDatabase> database = db != null || cacheUrl != null ? Optional.of(Databases.open(db)) : Databases.openDefaultIfPresent();
        try {
            if (cacheUrl != null) {
                PackPull.pullFor(cacheUrl, database.get(), t.recordTargets(), System.err::println).forEach(System.out::println);
            }
            TunedConfigs tuned = database.map(TunedConfigs::new).orElse(null);
            ConfigSource configs = tuned != null ? tuned : ConfigSource.DEFAULTS;
            var r = Compiler.compile(model, output, new Compiler.Options(t, Options.inputShapes(inputShapes), dumpDir, verbose, configs,
                    packaging, sysroot, InputValues.parse(inputValues), p));
            report(r, t);
            if (p != Precision.FP32) drift(r, t, p);
            // The hint to tune names the precision: the bf16 kernels are other workloads than the fp32 ones.
            String tuneArgs = "--target " + t.name() + "`";
            if (tuned != null) tuned.summary(model, t).forEach(line -> System.out.println(p == Precision.FP32 ? line
                    : line.replace(tuneArgs, "--target " + t.name() + " --precision " + p + "`")));
            return 0;
        } catch (TuningDbException e) {
            throw new KilnException(e.getMessage(), e);
        } finally {
            database.ifPresent(TuningDatabase::close);
        }
    }

    private void report(Compiler.Result r, Target t) {
        System.out.printf("compiled %s for %s: %d kernels, weights %.1f MB%s, workspace %.1f MB (intermediate tensors %.1f MB, kernel scratch %.1f MB), %.1f s%n",
                model, t.name(), r.kernels(), r.weightBytes() / 1e6, byType(r.weightBytesByType()), r.workspaceBytes() / 1e6, r.intermediateBytes() / 1e6, r.scratchBytes() / 1e6, r.millis() / 1000.0);
        List<Path> files = new java.util.ArrayList<>(List.of(r.library()));
        if (r.header() != null) files.add(r.header());
        files.addAll(r.sidecars());
        List<String> names = files.stream().map(Path::toString).toList();
        System.out.println("wrote " + (names.size() == 1 ? names.getFirst()
                : String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.getLast()));
    }

    /**
     * The library against the float model in ONNX Runtime on a few seeded random inputs: what the
     * cheaper arithmetic costs in accuracy, printed as {@code kiln quantize} prints its drift.
     */
    private void drift(Compiler.Result r, Target t, Precision p) {
        String skipped = driftSamples <= 0 ? "--drift-samples 0" : r.header() == null ? "not a library"
                : !t.canRunOnHost() ? "target " + t.name() + " cannot run here" : inputValues != null && !inputValues.isEmpty() ? "--input-value binds inputs the library no longer takes" : null;
        if (skipped != null) {
            System.out.println("drift not measured (" + skipped + ")");
            return;
        }
        int threads = Runtime.getRuntime().availableProcessors();
        try (OrtModel ref = new OrtModel(ModelSource.onnxBytes(model), threads); KilnLibrary lib = new KilnLibrary(r.library(), threads)) {
            List<java.util.Map<String, dev.kiln.irhigh.Tensor>> samples = new java.util.ArrayList<>();
            for (int i = 0; i < driftSamples; i++) samples.add(lib.randomInputs(i));
            List<Drift> d = Drift.measure(ref.outputNames(), ref::run, lib::run, samples);
            Drift.print(String.format("drift over %d random input%s (this %s library against the float model in ONNX Runtime):", samples.size(),
                    samples.size() == 1 ? "" : "s", p), d, System.out::println);
        }
    }

    /** " (float32 11.2 MB, int8 3.4 MB)": the weight bytes of each element type, largest first. */
    static String byType(java.util.Map<String, Long> bytes) {
        if (bytes.isEmpty()) return "";
        return bytes.entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed())
                .map(e -> String.format("%s %.1f MB", e.getKey(), e.getValue() / 1e6)).collect(java.util.stream.Collectors.joining(", ", " (", ")"));
    }

    private Packaging packaging() {
        return switch (emit.strip().toLowerCase()) {
            case "lib" -> {
                if (isStatic) throw new KilnException("--static applies to --emit exe only (a shared library links the C library dynamically)");
                yield Packaging.LIBRARY;
            }
            case "exe" -> isStatic ? Packaging.STATIC_EXECUTABLE : Packaging.EXECUTABLE;
            default -> throw new KilnException("--emit '" + emit + "': expected lib or exe");
        };
    }
}
