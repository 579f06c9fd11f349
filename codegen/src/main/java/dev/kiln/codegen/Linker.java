package dev.kiln.codegen;

import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Loader;

/**
 * Links an object file into a shared library with the {@code lld} that ships inside the LLVM
 * presets' native jar, so no system linker or compiler is needed.
 *
 * <p>The system libraries the code may call (libc, libm, and the
 * dynamic loader for {@code __tls_get_addr}) are passed by their full paths, found at run time in
 * the standard library directories of the target triple; {@code --as-needed} keeps only those
 * actually used in the library's NEEDED list. {@code -z defs} turns a symbol that none of them
 * defines into a link error rather than a failure when the library is loaded.
 */
public final class Linker {
    private static final long TIMEOUT_SECONDS = 300;
    private static volatile Path lld;

    private Linker() {}

    /** A system library the generated code may need, and the Debian package that provides it. */
    private record SystemLib(String file, String hostPackage, boolean required) {
        /** The package on this machine that provides the file: the cross variant for another architecture. */
        String debianPackage(CpuTarget t) {
            return t.arch().equals(CpuTarget.hostArch()) ? hostPackage : hostPackage + "-" + Toolchain.debianArch(t) + "-cross";
        }
    }

    public static void linkShared(Path object, Path outSo, Target t) {
        linkShared(object, outSo, outSo.getFileName().toString(), toolchain(t));
    }

    /** As {@link #linkShared(Path, Path, Target)}, with the soname given (when linking to a temporary name). */
    public static void linkShared(Path object, Path outSo, String soname, Target t) {
        linkShared(object, outSo, soname, toolchain(t));
    }

    /** Links {@code object} into the shared library {@code outSo} against the system libraries of {@code tc}. */
    public static void linkShared(Path object, Path outSo, String soname, Toolchain tc) {
        if (!Files.isRegularFile(object)) throw new TargetException("object file to link not found: " + object);
        CpuTarget t = tc.target();
        String multiarch = t.multiarch();
        List<Path> dirs = tc.libraryDirs();
        List<String> args = new ArrayList<>(List.of(lld().toString(), "-flavor", "gnu", "-shared", "-O2", "--gc-sections",
                "-z", "defs", "-z", "noexecstack", "-z", "relro", "-z", "now", "--hash-style=gnu", "--build-id",
                "-soname", soname, "-o", outSo.toString(), object.toString(), "--as-needed"));
        List<String> missing = new ArrayList<>();
        for (SystemLib lib : systemLibs(multiarch)) {
            Optional<Path> p = find(dirs, lib.file());
            if (p.isPresent()) args.add(p.get().toString());
            else if (lib.required()) missing.add(lib.file() + " (Debian package " + lib.debianPackage(t) + ")");
        }
        if (!missing.isEmpty()) {
            throw new TargetException("cannot link for " + t.name() + ": missing " + String.join(", ", missing)
                    + "; searched " + dirs);
        }
        // Compiler runtime builtins (e.g. half-precision conversions), linked statically if present.
        find(Toolchain.gccDirs(multiarch), "libgcc.a").ifPresent(p -> args.add(p.toString()));
        run(args, t, dirs, multiarch);
    }

    private static Toolchain toolchain(Target t) {
        if (!(t instanceof CpuTarget cpu)) throw new TargetException("target " + t.name() + " is not a CPU; it has no shared library to link");
        return Toolchain.of(cpu);
    }

    private static List<SystemLib> systemLibs(String multiarch) {
        List<SystemLib> libs = new ArrayList<>(List.of(new SystemLib("libc.so.6", "libc6", true),
                new SystemLib("libm.so.6", "libc6", true)));
        String loader = switch (multiarch) {
            case "x86_64-linux-gnu" -> "ld-linux-x86-64.so.2";
            case "aarch64-linux-gnu" -> "ld-linux-aarch64.so.1";
            default -> null;
        };
        if (loader != null) libs.add(new SystemLib(loader, "libc6", false));
        return libs;
    }

    private static void run(List<String> args, Target t, List<Path> dirs, String multiarch) {
        try {
            Path log = Files.createTempFile("kiln-lld", ".log");
            try {
                Process p = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
                if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new TargetException("lld did not finish linking " + args.get(args.indexOf("-o") + 1) + " in "
                            + TIMEOUT_SECONDS + " s");
                }
                String out = Files.readString(log, StandardCharsets.UTF_8).strip();
                if (p.exitValue() != 0) {
                    String hint = "";
                    if (out.contains("undefined symbol: __tls_get_addr")) {
                        hint = "; the dynamic loader of " + multiarch + " was not found in " + dirs + " (Debian package libc6)";
                    }
                    throw new TargetException("linking for " + t.name() + " failed (lld exit " + p.exitValue() + "):\n" + out + hint);
                }
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new TargetException("cannot run lld: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TargetException("interrupted while linking", e);
        }
    }

    private static Optional<Path> find(List<Path> dirs, String file) {
        for (Path d : dirs) {
            Path p = d.resolve(file);
            if (Files.isRegularFile(p)) return Optional.of(p.toAbsolutePath());
        }
        return Optional.empty();
    }

    /**
     * The lld binary, extracted from the LLVM presets jar on first use: made executable, with
     * the {@code libLLVM.so.20.1} name it is linked against pointing at the jar's {@code libLLVM.so}.
     */
    static Path lld() {
        Path p = lld;
        if (p != null) return p;
        synchronized (Linker.class) {
            if (lld != null) return lld;
            try {
                Loader.load(org.bytedeco.llvm.global.LLVM.class); // extracts libLLVM.so beside lld
                File f = Loader.cacheResource(org.bytedeco.llvm.presets.LLVM.class,
                        "/org/bytedeco/llvm/" + Loader.getPlatform() + "/lld");
                if (f == null) throw new TargetException("the LLVM presets jar for " + Loader.getPlatform() + " has no lld");
                if (!f.canExecute() && !f.setExecutable(true)) {
                    throw new TargetException("cannot make " + f + " executable");
                }
                Path dir = f.toPath().getParent();
                Path so = dir.resolve("libLLVM.so");
                Path versioned = dir.resolve("libLLVM.so.20.1");
                if (!Files.exists(so)) throw new TargetException("lld needs " + so + ", which the LLVM presets did not extract");
                if (!Files.exists(versioned)) {
                    try {
                        Files.createSymbolicLink(versioned, so.getFileName());
                    } catch (FileAlreadyExistsException e) {
                        // another process made it meanwhile
                    }
                }
                lld = f.toPath();
                return lld;
            } catch (IOException e) {
                throw new TargetException("cannot extract lld from the LLVM presets jar: " + e.getMessage(), e);
            }
        }
    }
}
