package dev.kiln.tests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a child process for the tests that drive compiled programs and the C toolchain. */
final class Exec {
    private Exec() {}

    /** Exit code, standard output and standard error of a finished process. */
    record Result(int code, String out, String err) {
        String both() {
            return out + err;
        }
    }

    static Result run(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        var out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        var err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            return new Result(-1, out.join(), "timed out after " + timeoutSeconds + " s: " + String.join(" ", cmd) + "\n" + err.join());
        }
        return new Result(p.exitValue(), out.join(), err.join());
    }

    static boolean onPath(String tool) {
        return dev.kiln.targets.cpu.ProgramRuntime.onPath(tool).isPresent();
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }
}
