package dev.kiln.driver;

import dev.kiln.codegen.Backend;
import dev.kiln.codegen.NativeCompiler;
import dev.kiln.codegen.Packaging;
import dev.kiln.codegen.executor.ExecutorLowering;
import dev.kiln.frontend.InputValues;
import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irlow.Printer;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Java API behind {@code kiln compile}: model file (or {@code zoo:NAME}) in, native shared
 * library and C header out. The whole path, in order: frontend, graph passes, one scheduled
 * kernel per node, lowering, static memory plan, LLVM codegen, link.
 */
public final class Compiler {
    private Compiler() {}

    /**
     * What to compile and how. {@code dumpDir} (nullable) receives the IR after every step;
     * {@code configs} gives each kernel's schedule knobs (defaults, or tuned configs from a database).
     */
    public record Options(Target target, Map<String, long[]> inputShapes, Path dumpDir, boolean verbose, ConfigSource configs,
                          Packaging packaging, Path sysroot, Map<String, List<String>> inputValues, Precision precision) {
        public Options {
            inputValues = inputValues == null ? Map.of() : inputValues;
            precision = precision == null ? Precision.FP32 : precision;
        }

        public Options(Target target, Map<String, long[]> inputShapes, Path dumpDir, boolean verbose, ConfigSource configs,
                       Packaging packaging, Path sysroot, Map<String, List<String>> inputValues) {
            this(target, inputShapes, dumpDir, verbose, configs, packaging, sysroot, inputValues, Precision.FP32);
        }

        /** These options with {@code precision}. */
        public Options withPrecision(Precision p) {
            return new Options(target, inputShapes, dumpDir, verbose, configs, packaging, sysroot, inputValues, p);
        }

        public Options(Target target, Map<String, long[]> inputShapes, Path dumpDir, boolean verbose, ConfigSource configs,
                       Packaging packaging, Path sysroot) {
            this(target, inputShapes, dumpDir, verbose, configs, packaging, sysroot, Map.of());
        }

        public Options(Target target, Map<String, long[]> inputShapes, Path dumpDir, boolean verbose) {
            this(target, inputShapes, dumpDir, verbose, ConfigSource.DEFAULTS);
        }

        public Options(Target target, Map<String, long[]> inputShapes, Path dumpDir, boolean verbose, ConfigSource configs) {
            this(target, inputShapes, dumpDir, verbose, configs, Packaging.LIBRARY, null);
        }
    }

    /** What came out ({@code header} is null for a program), with the figures worth reporting. */
    public record Result(Path library, Path header, java.util.List<Path> sidecars, int kernels, long workspaceBytes, long intermediateBytes, long scratchBytes,
                         long weightBytes, java.util.SortedMap<String, Long> weightBytesByType, long millis) {}

    public static Result compile(String model, Path outSo, Options opts) {
        long t0 = System.nanoTime();
        if (opts.packaging() == Packaging.LIBRARY && !outSo.getFileName().toString().endsWith(".so"))
            throw new KilnException("output '" + outSo + "' should end in .so (the header is written beside it as .h)");
        if (opts.packaging().isExecutable() && outSo.getFileName().toString().endsWith(".so"))
            throw new KilnException("output '" + outSo + "' ends in .so, but --emit exe writes a program: name it without .so");
        opts.precision().check(opts.target());
        Backend backend = Backend.of(opts.target(), opts.sysroot());
        Graph g = ModelSource.load(model, opts.inputShapes(), opts.inputValues());
        AtomicInteger step = new AtomicInteger();
        try {
            GraphPipeline.run(g, opts.target(), opts.precision(), (pass, graph) -> dump(opts, String.format("graph/%02d-%s.txt", step.getAndIncrement(), pass), graph.toString()));
        } catch (KilnException e) {
            throw InputValues.explain(e, g);
        }
        ExecutorLowering.Plan plan = ExecutorLowering.run(g, opts.target(), opts.configs(), backend::lower,
                (name, fn) -> dump(opts, "kernels/" + name + ".txt", Printer.print(fn)));
        var result = NativeCompiler.compile(plan.spec(), backend, outSo, new NativeCompiler.Options(opts.dumpDir(), opts.packaging()));
        long weights = plan.spec().constants().stream().mapToLong(c -> c.data().length).sum();
        java.util.SortedMap<String, Long> byType = new java.util.TreeMap<>();
        for (var c : plan.spec().constants()) {
            var t = g.initializers().get(c.name());
            String type = t == null ? "other" : dev.kiln.schedules.ops.OpInventory.isPackedInt8Weights(c.name()) ? "int8"
                    : dev.kiln.schedules.ops.OpInventory.isPackedBf16Weights(c.name()) ? "bfloat16" : t.dtype().numpyName;
            byType.merge(type, (long) c.data().length, Long::sum);
        }
        return new Result(result.library(), result.header(), result.sidecars(), plan.spec().calls().size(), plan.workspaceBytes(), plan.intermediateBytes(), plan.scratchBytes(), weights,
                byType, (System.nanoTime() - t0) / 1_000_000);
    }

    private static void dump(Options opts, String relative, String text) {
        if (opts.dumpDir() == null) return;
        try {
            Path p = opts.dumpDir().resolve(relative);
            Files.createDirectories(p.getParent());
            Files.writeString(p, text);
        } catch (IOException e) {
            throw new KilnException("cannot write IR dump under " + opts.dumpDir() + ": " + e.getMessage());
        }
    }
}
