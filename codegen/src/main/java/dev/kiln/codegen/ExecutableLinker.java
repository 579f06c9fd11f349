package dev.kiln.codegen;

import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Links a model's object code into a standalone program: Kiln's main ({@code kiln_main.c}, a
 * resource: argument parsing, .npy input and output, random inputs, timing), compiled by the
 * target's C compiler once per toolchain and cached, a generated {@code kiln_model_io.c} that
 * lists the model's inputs and outputs, the object, the C library,
 * statically when asked. The compiler driver is used for the link because it knows its target's
 * start files and static libraries; lld alone would have to find them.
 */
final class ExecutableLinker {
    private ExecutableLinker() {}

    static void link(Toolchain tc, Path object, ModuleSpec spec, boolean isStatic, Path out, String programName) {
        String cc = tc.cCompiler();
        Path dir = null;
        try {
            dir = Files.createTempDirectory("kiln-exe");
            Files.write(dir.resolve("kiln_main.h"), CBuild.resource("kiln_main.h"));
            Path main = CBuild.cachedObject(tc, dir, "kiln_main.c", "kiln_main.h", List.of());
            Path io = dir.resolve("kiln_model_io.c");
            Files.writeString(io, CBuild.ioSource(spec, programName));
            List<String> args = new ArrayList<>(List.of(cc, "-std=gnu11", "-O2", "-o", out.toString(), io.toString(), main.toString(),
                    object.toString(), "-Wl,--gc-sections", "-Wl,-z,noexecstack"));
            if (isStatic) args.add("-static");
            args.addAll(CBuild.sysrootFlag(tc));
            args.addAll(List.of("-Wl,--as-needed", "-lm", "-lpthread"));
            CBuild.run(args, dir, tc);
        } catch (IOException e) {
            throw new TargetException("cannot build the executable " + out + ": " + e.getMessage(), e);
        } finally {
            if (dir != null) CBuild.deleteTree(dir);
        }
    }

}
