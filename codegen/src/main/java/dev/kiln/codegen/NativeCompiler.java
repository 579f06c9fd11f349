package dev.kiln.codegen;

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
 * Compiles a {@link ModuleSpec} through a {@link Backend} into a shared library and its C header,
 * or into a standalone program: the whole native back end in one readable sequence (emit,
 * package, header, publish), the same for every target.
 *
 * <p>The output appears atomically: everything is built under temporary names in the output
 * directory and renamed into place at the end; on any failure nothing new is left there.
 */
public final class NativeCompiler {
    private NativeCompiler() {}

    /** {@code dumpDir} (nullable): where the backend writes its intermediate forms (weights elided). */
    public record Options(Path dumpDir, Packaging packaging) {
        public Options(Path dumpDir) {
            this(dumpDir, Packaging.LIBRARY);
        }

        public static Options defaults() {
            return new Options(null, Packaging.LIBRARY);
        }
    }

    /** What was written ({@code header} is null for a program; {@code sidecars}: the backend's files beside it, such as OUT.ptx), and how long each step took, in milliseconds, in order. */
    public record Result(Path library, Path header, List<Path> sidecars, Map<String, Long> stepMillis) {
        public Result {
            sidecars = List.copyOf(sidecars);
            stepMillis = Collections.unmodifiableMap(new LinkedHashMap<>(stepMillis));
        }

        public long totalMillis() {
            return stepMillis.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** A shared library for {@code target} with its default toolchain. */
    public static Result compile(ModuleSpec spec, Target target, Path outSo, Options opts) {
        return compile(spec, Backend.of(target, null), outSo, opts);
    }

    public static Result compile(ModuleSpec spec, Backend backend, Path out, Options opts) {
        Path file = out.toAbsolutePath().normalize();
        Path dir = file.getParent();
        String base = baseName(file);
        boolean library = opts.packaging() == Packaging.LIBRARY;
        Path header = library ? dir.resolve(base + ".h") : null;
        Steps steps = new Steps();
        List<Path> temps = new ArrayList<>();
        List<Path> published = new ArrayList<>(); // beside the output, removed again if it fails
        try {
            Files.createDirectories(dir);
            spec.validate();
            Backend.Emitted module = steps.call("emit", () -> backend.emit(spec, opts.dumpDir()));
            Path tmpOut = temp(dir, base, library ? ".so" : ".exe", temps);
            steps.run(library ? "link" : "link-exe", () -> backend.pack(module, spec, opts.packaging(), tmpOut, file.getFileName().toString()));
            for (var e : new java.util.TreeMap<>(module.sidecars()).entrySet()) publish(dir, base, e.getKey(), e.getValue(), temps, published);
            if (library) {
                byte[] text = steps.call("header", () -> HeaderWriter.header(spec, file.getFileName().toString(), backend.headerExtras()).getBytes(StandardCharsets.UTF_8));
                publish(dir, base, ".h", text, temps, published);
            } else {
                setPermissions(tmpOut, "rwxr-xr-x");
            }
            move(tmpOut, file);
            List<Path> sidecars = published.stream().filter(p -> !p.equals(header)).toList();
            return new Result(file, header, sidecars, steps.millis);
        } catch (IOException e) {
            published.forEach(NativeCompiler::deleteQuietly);
            throw new TargetException("cannot write " + file + ": " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            published.forEach(NativeCompiler::deleteQuietly);
            throw new TargetException("cannot write " + file + ": " + e.getCause().getMessage(), e);
        } catch (RuntimeException | Error e) {
            published.forEach(NativeCompiler::deleteQuietly);
            throw e;
        } finally {
            for (Path p : temps) deleteQuietly(p);
        }
    }

    /** Writes {@code bytes} as {@code dir/base+suffix} (through a temporary file) before the output itself appears. */
    private static void publish(Path dir, String base, String suffix, byte[] bytes, List<Path> temps, List<Path> published) throws IOException {
        Path tmp = temp(dir, base, suffix, temps);
        write(tmp, bytes);
        setPermissions(tmp, "rw-r--r--");
        Path to = dir.resolve(base + suffix);
        move(tmp, to);
        published.add(to);
    }

    /** "libnet.so" -> "libnet"; any other name keeps everything before its last dot. */
    static String baseName(Path so) {
        String name = so.getFileName().toString();
        if (name.endsWith(".so")) return name.substring(0, name.length() - 3);
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
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

    /** Temp files are created owner-only; the published header and program should be like any other file. */
    private static void setPermissions(Path p, String perms) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
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
