package dev.kiln.codegen;

import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.irlow.ScalarType;
import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Links a model's object code into a standalone program: Kiln's main ({@code kiln_main.c}, a
 * resource: argument parsing, .npy input and output, random inputs, timing), compiled by the
 * target's C compiler once per toolchain and cached, a generated {@code kiln_model_io.c} that
 * lists the model's inputs and outputs, the object, the C library and the OpenMP runtime,
 * statically when asked. The compiler driver is used for the link because it knows its target's
 * start files and static libraries; lld alone would have to find them.
 */
final class ExecutableLinker {
    private static final long TIMEOUT_SECONDS = 300;

    private ExecutableLinker() {}

    static void link(Toolchain tc, Path object, ModuleSpec spec, boolean isStatic, Path out, String programName) {
        String cc = tc.cCompiler();
        Path dir = null;
        try {
            dir = Files.createTempDirectory("kiln-exe");
            Files.write(dir.resolve("kiln_main.h"), resource("kiln_main.h"));
            Path main = mainObject(tc, dir);
            Path io = dir.resolve("kiln_model_io.c");
            Files.writeString(io, ioSource(spec, programName));
            List<String> args = new ArrayList<>(List.of(cc, "-std=gnu11", "-O2", "-o", out.toString(), io.toString(), main.toString(),
                    object.toString(), "-Wl,--gc-sections", "-Wl,-z,noexecstack"));
            if (isStatic) args.add("-static");
            args.addAll(sysrootFlag(tc));
            args.addAll(List.of("-Wl,--as-needed", "-lgomp", "-lm", "-lpthread"));
            run(args, dir, tc);
        } catch (IOException e) {
            throw new TargetException("cannot build the executable " + out + ": " + e.getMessage(), e);
        } finally {
            if (dir != null) deleteTree(dir);
        }
    }

    /**
     * kiln_main.c compiled for the toolchain: from the cache ({@code $XDG_CACHE_HOME/kiln}, else
     * {@code ~/.cache/kiln}) when this source was compiled by this compiler before, else compiled
     * now and cached (written to a temporary name and renamed, so concurrent builds agree).
     */
    private static Path mainObject(Toolchain tc, Path dir) throws IOException {
        byte[] source = resource("kiln_main.c");
        List<String> flags = new ArrayList<>(List.of(tc.cCompiler(), "-std=gnu11", "-O2", "-c"));
        flags.addAll(sysrootFlag(tc));
        String key;
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(source);
            sha.update(resource("kiln_main.h"));
            sha.update(String.join(" ", flags).getBytes(StandardCharsets.UTF_8));
            key = HexFormat.of().formatHex(sha.digest(), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path cached = cacheDir().resolve("kiln_main-" + tc.target().arch() + "-" + key + ".o");
        if (Files.isRegularFile(cached)) return cached;
        Path src = dir.resolve("kiln_main.c");
        Files.write(src, source);
        Path obj = dir.resolve("kiln_main.o");
        List<String> args = new ArrayList<>(flags);
        args.addAll(List.of(src.toString(), "-o", obj.toString()));
        run(args, dir, tc);
        try {
            Files.createDirectories(cached.getParent());
            Path tmp = Files.createTempFile(cached.getParent(), ".kiln_main", ".o.tmp");
            Files.copy(obj, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            return obj; // no writable cache: this build uses its own copy
        }
        return cached;
    }

    private static Path cacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("kiln");
    }

    /** {@code --sysroot=DIR} when the sysroot is not the compiler's own default. */
    private static List<String> sysrootFlag(Toolchain tc) {
        if (tc.sysroot() == null || tc.sysroot().equals(Path.of("/usr", tc.target().multiarch()))) return List.of();
        return List.of("--sysroot=" + tc.sysroot());
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ExecutableLinker.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " is missing from Kiln's codegen jar");
            return in.readAllBytes();
        }
    }

    /** The C description of the model's tensors (kiln_main.h declares it). */
    static String ioSource(ModuleSpec spec, String programName) {
        StringBuilder b = new StringBuilder("/* Generated by Kiln for model " + spec.name() + ". */\n#include \"kiln_main.h\"\n");
        b.append("const char KILN_PROGRAM[] = ").append(cString(programName)).append(";\n");
        tensors(b, "INPUTS", spec.inputs());
        tensors(b, "OUTPUTS", spec.outputs());
        return b.toString();
    }

    private static void tensors(StringBuilder b, String what, List<TensorSpec> specs) {
        String lower = what.toLowerCase();
        for (int i = 0; i < specs.size(); i++) {
            b.append("static const long long kiln_").append(lower).append(i).append("_shape[] = {");
            List<Long> shape = specs.get(i).shape();
            if (shape.isEmpty()) b.append('1'); // a scalar: no dims, but C needs one element
            for (int d = 0; d < shape.size(); d++) b.append(d == 0 ? "" : ", ").append(shape.get(d));
            b.append("};\n");
        }
        b.append("const int KILN_NUM_").append(what).append(" = ").append(specs.size()).append(";\n");
        b.append("const KilnTensor KILN_").append(what).append("[] = {");
        if (specs.isEmpty()) b.append("{0}");
        for (int i = 0; i < specs.size(); i++) {
            TensorSpec s = specs.get(i);
            ScalarType t = s.dtype();
            b.append(i == 0 ? "\n" : ",\n").append("    {").append(cString(s.name())).append(", ").append(cString(npyDescr(t)))
                    .append(", ").append(t.bytes()).append(", ").append(t.isFloat ? 1 : 0).append(", ")
                    .append(t == ScalarType.BOOL ? 1 : 0).append(", ").append(s.shape().size())
                    .append(", kiln_").append(lower).append(i).append("_shape}");
        }
        b.append("\n};\n");
    }

    /** The numpy dtype string of a scalar type, little-endian. */
    static String npyDescr(ScalarType t) {
        return switch (t) {
            case BOOL -> "|b1";
            case I8 -> "|i1";
            case U8 -> "|u1";
            case I16 -> "<i2";
            case U16 -> "<u2";
            case I32 -> "<i4";
            case U32 -> "<u4";
            case I64 -> "<i8";
            case U64 -> "<u8";
            case F16 -> "<f2";
            case F32 -> "<f4";
            case F64 -> "<f8";
        };
    }

    /** A C string literal of {@code s}: printable ASCII kept, everything else as octal escapes. */
    static String cString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c == '"' || c == '\\') b.append('\\').append((char) c);
            else if (c >= 0x20 && c < 0x7f && c != '?') b.append((char) c);
            else b.append(String.format("\\%03o", c));
        }
        return b.append('"').toString();
    }

    private static void run(List<String> args, Path dir, Toolchain tc) throws IOException {
        Path log = dir.resolve("cc.log");
        Process p = new ProcessBuilder(args).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new TargetException(args.getFirst() + " did not finish linking the executable in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new TargetException("interrupted while linking the executable", e);
        }
        if (p.exitValue() != 0) {
            String output = Files.readString(log, StandardCharsets.UTF_8).strip();
            String hint = output.contains("-lgomp") || output.contains("libgomp")
                    ? " (the OpenMP runtime for " + tc.target().arch() + " is missing: install the Debian package "
                            + (tc.isCross() ? "libgomp1-" + Toolchain.debianArch(tc.target()) + "-cross" : "libgomp1 and libgcc-12-dev") + ")"
                    : output.contains("cannot find -lc") || output.contains("cannot find -lm")
                            ? " (a static C library is missing: install the Debian package "
                                    + (tc.isCross() ? "libc6-dev-" + Toolchain.debianArch(tc.target()) + "-cross" : "libc6-dev") + ")"
                            : "";
            throw new TargetException("linking the executable for " + tc.target().name() + " failed (" + args.getFirst()
                    + " exit " + p.exitValue() + ")" + hint + ":\n" + output);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary directory is harmless
        }
    }
}
