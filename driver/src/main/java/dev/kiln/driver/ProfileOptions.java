package dev.kiln.driver;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --profile} and {@code --profile-json}, shared by {@code kiln run} and {@code kiln bench}. */
final class ProfileOptions {
    @Option(names = "--profile", description = "time every kernel of the library over the runs (kiln_model_run_profiled) and print "
            + "them slowest first, with their ops, template, layout, GFLOP/s and GB/s (see docs/profiling.md)")
    boolean profile;

    @Option(names = "--profile-json", paramLabel = "FILE", description = "write the profiled runs as a Chrome trace (ONNX Runtime's "
            + "profile format; open it in Perfetto or chrome://tracing); implies --profile")
    Path traceFile;

    boolean enabled() {
        return profile || traceFile != null;
    }
}
