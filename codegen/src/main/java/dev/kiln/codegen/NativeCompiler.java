package dev.kiln.codegen;

import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles a {@link ModuleSpec} into a shared library and its C header, the whole native back
 * end in one readable sequence: kernels, executor, optimize, emit, link, header, publish.
 *
 * <p>The output appears atomically: everything is built under temporary names in the output
 * directory and renamed into place at the end; on any failure nothing new is left there.
 */
public final class NativeCompiler {
    private NativeCompiler() {}

    /** {@code dumpDir} (nullable): where to write kernels.ll and kernels.s (weights elided). */
    public record Options(Path dumpDir) {
        public static Options defaults() {
            return new Options(null);
        }
    }

    /** What was written, and how long each step took, in milliseconds, in order. */
    public record Result(Path library, Path header, Map<String, Long> stepMillis) {
        public Result {
            stepMillis = Collections.unmodifiableMap(new LinkedHashMap<>(stepMillis));
        }

        public long totalMillis() {
            return stepMillis.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    public static Result compile(ModuleSpec spec, Target target, Path outSo, Options opts) {
        Path so = outSo.toAbsolutePath().normalize();
        Path dir = so.getParent();
        String base = baseName(so);
        Path header = dir.resolve(base + ".h");
        Steps steps = new Steps();
        List<Path> temps = new ArrayList<>();
        boolean headerPublished = false;
        try {
            Files.createDirectories(dir);
            spec.validate();
            byte[] object;
            try (LlvmModule m = new LlvmModule(spec.name(), target)) {
                steps.run("kernels", () -> {
                    for (PrimFunc k : spec.kernels()) m.addKernel(k);
                });
                steps.run("executor", () -> ExecutorCodegen.emit(m, spec));
                steps.run("optimize", m::optimize);
                object = steps.call("emit", m::emitObject);
                if (opts.dumpDir() != null) steps.run("dump", () -> dump(m, opts.dumpDir()));
            }
            Path obj = temp(dir, base, ".o", temps);
            Path tmpSo = temp(dir, base, ".so", temps);
            Path tmpHeader = temp(dir, base, ".h", temps);
            steps.run("link", () -> {
                write(obj, object);
                Linker.linkShared(obj, tmpSo, so.getFileName().toString(), target);
            });
            steps.run("header", () -> write(tmpHeader, HeaderWriter.header(spec, so.getFileName().toString())
                    .getBytes(StandardCharsets.UTF_8)));
            readableByAll(tmpHeader);
            move(tmpHeader, header);
            headerPublished = true;
            move(tmpSo, so);
            return new Result(so, header, steps.millis);
        } catch (IOException e) {
            if (headerPublished) deleteQuietly(header);
            throw new TargetException("cannot write " + so + ": " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            if (headerPublished) deleteQuietly(header);
            throw new TargetException("cannot write " + so + ": " + e.getCause().getMessage(), e);
        } catch (RuntimeException | Error e) {
            if (headerPublished) deleteQuietly(header);
            throw e;
        } finally {
            for (Path p : temps) deleteQuietly(p);
        }
    }

    /** "libnet.so" -> "libnet"; any other name keeps everything before its last dot. */
    static String baseName(Path so) {
        String name = so.getFileName().toString();
        if (name.endsWith(".so")) return name.substring(0, name.length() - 3);
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    private static void dump(LlvmModule m, Path dumpDir) {
        try {
            Files.createDirectories(dumpDir);
            // The object is already emitted: zero the weights so the dumps stay readable and small.
            ExecutorCodegen.elideConstants(m.module());
            Files.writeString(dumpDir.resolve("kernels.ll"), m.printIr());
            Files.writeString(dumpDir.resolve("kernels.s"), m.emitAssembly());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A hidden temporary file beside the output, so the final rename stays on one file system. */
    private static Path temp(Path dir, String base, String suffix, List<Path> temps) throws IOException {
        Path p = Files.createTempFile(dir, "." + base + ".", ".tmp" + suffix);
        temps.add(p);
        return p;
    }

    private static void write(Path p, byte[] bytes) {
        try {
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Temp files are created owner-only; the published header should read like any other file. */
    private static void readableByAll(Path p) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep its default
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // best effort: a leftover temp name starts with '.' and ends in .tmp.*
        }
    }

    /** Runs named steps and records how long each took. */
    private static final class Steps {
        final Map<String, Long> millis = new LinkedHashMap<>();

        void run(String name, Runnable step) {
            call(name, () -> {
                step.run();
                return null;
            });
        }

        <T> T call(String name, java.util.function.Supplier<T> step) {
            long t0 = System.nanoTime();
            try {
                return step.get();
            } finally {
                millis.merge(name, (System.nanoTime() - t0) / 1_000_000, Long::sum);
            }
        }
    }
}
