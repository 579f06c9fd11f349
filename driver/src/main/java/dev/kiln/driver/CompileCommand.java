package dev.kiln.driver;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningDbException;
import dev.kiln.driver.tune.Databases;
import dev.kiln.driver.tune.TunedConfigs;
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
        description = "Compile an ONNX model (or zoo:NAME) into a native shared library OUT.so and its C header OUT.h.")
final class CompileCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "model.onnx, or zoo:NAME for a built-in model (see 'kiln zoo')")
    String model;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.so", description = "the library to write (the header goes beside it)")
    Path output;

    @Option(names = "--target", defaultValue = "host", description = "x86_64-avx512, x86_64-avx2 or host (default: ${DEFAULT-VALUE})")
    String target;

    @Option(names = "--input-shape", paramLabel = "NAME=D1,D2,..", description = "bind an input's dynamic dimensions (repeatable)")
    List<String> inputShapes;

    @Option(names = "--dump-ir", paramLabel = "DIR", description = "write the graph after each pass, each kernel's loop IR after each lowering step, and the LLVM IR and assembly under DIR")
    Path dumpDir;

    @Option(names = "--db", paramLabel = "URL", description = "schedule kernels with the best configs of this tuning database "
            + "(jdbc:sqlite:FILE, jdbc:postgresql://HOST/DB or a file path; default: ~/.kiln/tuning.db if it exists)")
    String db;

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        Target t = Target.parse(target);
        Optional<TuningDatabase> database = db != null ? Optional.of(Databases.open(db)) : TunedConfigs.openDefaultIfPresent();
        try {
            TunedConfigs tuned = database.map(TunedConfigs::new).orElse(null);
            ConfigSource configs = tuned != null ? tuned : ConfigSource.DEFAULTS;
            var r = Compiler.compile(model, output, new Compiler.Options(t, Options.inputShapes(inputShapes), dumpDir, verbose, configs));
            report(r, t);
            if (tuned != null) tuned.summary(model, t).forEach(System.out::println);
            return 0;
        } catch (TuningDbException e) {
            throw new KilnException(e.getMessage(), e);
        } finally {
            database.ifPresent(TuningDatabase::close);
        }
    }

    private void report(Compiler.Result r, Target t) {
        System.out.printf("compiled %s for %s: %d kernels, weights %.1f MB, workspace %.1f MB (intermediate tensors %.1f MB, kernel scratch %.1f MB), %.1f s%n",
                model, t.name(), r.kernels(), r.weightBytes() / 1e6, r.workspaceBytes() / 1e6, r.intermediateBytes() / 1e6, r.scratchBytes() / 1e6, r.millis() / 1000.0);
        System.out.println("wrote " + r.library() + " and " + r.header());
    }
}
