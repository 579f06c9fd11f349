package dev.kiln.driver;

import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.List;
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

    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        Target t = Target.parse(target);
        var r = Compiler.compile(model, output, new Compiler.Options(t, Options.inputShapes(inputShapes), dumpDir, verbose));
        System.out.printf("compiled %s for %s: %d kernels, weights %.1f MB, workspace %.1f MB (intermediates %.1f MB), %.1f s%n",
                model, t.name(), r.kernels(), r.weightBytes() / 1e6, r.workspaceBytes() / 1e6, r.intermediateBytes() / 1e6, r.millis() / 1000.0);
        System.out.println("wrote " + r.library() + " and " + r.header());
        return 0;
    }
}
