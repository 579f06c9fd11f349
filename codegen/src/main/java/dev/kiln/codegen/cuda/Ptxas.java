package dev.kiln.codegen.cuda;

import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * NVIDIA's PTX assembler, where the CUDA toolkit is installed: the check that a PTX module Kiln
 * emitted is one the driver will accept, on machines without a GPU. Nothing at run time needs it
 * (the driver JIT-compiles the PTX a library embeds).
 */
public final class Ptxas {
    private Ptxas() {}

    /** {@code ptxas} on the PATH, else in {@code $CUDA_HOME/bin} or {@code /usr/local/cuda/bin}. */
    public static Optional<Path> find() {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path p = Path.of(dir.isEmpty() ? "." : dir, "ptxas");
                if (Files.isExecutable(p)) return Optional.of(p);
            }
        }
        String home = System.getenv("CUDA_HOME");
        for (Path p : List.of(Path.of(home == null || home.isBlank() ? "/usr/local/cuda" : home, "bin/ptxas"), Path.of("/usr/local/cuda/bin/ptxas"))) {
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /**
     * Assembles {@code ptx} for {@code arch} (e.g. {@code sm_90}), discarding the output; a
     * {@link TargetException} with ptxas's messages when it refuses the module.
     */
    public static void check(Path ptxas, Path ptx, String arch) {
        Path log = null;
        try {
            log = Files.createTempFile("kiln-ptxas", ".log");
            Process p = new ProcessBuilder(ptxas.toString(), "-arch=" + arch, ptx.toString(), "-o", "/dev/null")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new TargetException("ptxas -arch=" + arch + " " + ptx + " ran for more than 120 s");
            }
            if (p.exitValue() != 0) {
                String out = Files.readString(log, StandardCharsets.UTF_8).strip();
                throw new TargetException("ptxas -arch=" + arch + " refused " + ptx + " (exit " + p.exitValue() + "): "
                        + (out.length() > 2000 ? out.substring(0, 2000) + " ..." : out));
            }
        } catch (IOException e) {
            throw new TargetException("cannot run " + ptxas + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TargetException("interrupted while running ptxas", e);
        } finally {
            try {
                if (log != null) Files.deleteIfExists(log);
            } catch (IOException e) {
                // a leftover log in the temp folder
            }
        }
    }
}
