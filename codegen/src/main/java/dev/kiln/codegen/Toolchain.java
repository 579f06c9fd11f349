package dev.kiln.codegen;

import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.TargetException;
import dev.kiln.targets.cpu.ProgramRuntime;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Where the system side of a CPU target comes from: the C library a model
 * library links against (the sysroot), and the C compiler that builds a standalone executable's
 * main program. For this machine's own architecture that is the system itself; for another one a
 * cross sysroot, by default Debian's {@code /usr/<multiarch>} (e.g. {@code /usr/aarch64-linux-gnu}
 * from the package {@code libc6-dev-arm64-cross}), or the directory given with {@code --sysroot}.
 */
public record Toolchain(CpuTarget target, Path sysroot) {
    /** The toolchain for {@code target}: {@code sysroot} if given (must exist), else the default for its architecture. */
    public static Toolchain of(CpuTarget target, Path sysroot) {
        if (sysroot != null) {
            if (!Files.isDirectory(sysroot)) {
                throw new TargetException("--sysroot " + sysroot + " is not a directory; it should hold the " + target.arch()
                        + " C library (lib/libc.so.6, or usr/lib/" + target.multiarch() + "/libc.so.6)");
            }
            return new Toolchain(target, sysroot.toAbsolutePath().normalize());
        }
        if (target.arch().equals(CpuTarget.hostArch())) return new Toolchain(target, null);
        Path cross = Path.of("/usr", target.multiarch());
        if (!Files.isDirectory(cross.resolve("lib"))) {
            throw new TargetException("cross-compiling for " + target.name() + " needs the " + target.arch() + " C library (libc.so.6): "
                    + "install the Debian package libc6-dev-" + debianArch(target) + "-cross (its sysroot is " + cross
                    + "), or give the target's root file system with --sysroot DIR");
        }
        return new Toolchain(target, cross);
    }

    /** The default toolchain of {@code target}. */
    public static Toolchain of(CpuTarget target) {
        return of(target, null);
    }

    /** Whether libraries come from a sysroot rather than this machine's own system directories. */
    public boolean isCross() {
        return sysroot != null;
    }

    /** The directories to look in for the target's shared libraries, those that exist, in order. */
    public List<Path> libraryDirs() {
        String m = target.multiarch();
        List<String> candidates = new ArrayList<>();
        if (sysroot == null) {
            candidates.addAll(List.of("/lib/" + m, "/usr/lib/" + m, "/usr/" + m + "/lib", "/lib64", "/usr/lib64", "/lib", "/usr/lib"));
        } else {
            for (String d : List.of("lib", "usr/lib/" + m, "lib/" + m, "usr/lib", "lib64", "usr/lib64")) {
                candidates.add(sysroot.resolve(d).toString());
            }
        }
        LinkedHashSet<Path> dirs = new LinkedHashSet<>();
        for (String d : candidates) {
            Path p = Path.of(d);
            if (Files.isDirectory(p)) dirs.add(p);
        }
        dirs.addAll(gccDirs(m));
        return List.copyOf(dirs);
    }

    /**
     * The C compiler driver that builds and links executables for the target: {@code cc} on this
     * machine's architecture, {@code <multiarch>-gcc} for another (Debian's gcc-aarch64-linux-gnu).
     */
    public String cCompiler() {
        String cc = target.arch().equals(CpuTarget.hostArch()) ? "cc" : target.multiarch() + "-gcc";
        if (ProgramRuntime.onPath(cc).isPresent()) return cc;
        String pkg = cc.equals("cc") ? "gcc" : "gcc-" + target.multiarch();
        throw new TargetException("--emit exe for " + target.name() + " needs a C compiler for the program's main: '" + cc
                + "' was not found on PATH (install the Debian package " + pkg + ")");
    }

    /** Debian's name for the architecture: amd64, arm64. */
    static String debianArch(CpuTarget t) {
        return switch (t.arch()) {
            case "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> t.arch();
        };
    }

    /** gcc's own library directories, /usr/lib/gcc[-cross]/&lt;multiarch&gt;/&lt;version&gt;/, newest version first. */
    static List<Path> gccDirs(String multiarch) {
        List<Path> out = new ArrayList<>();
        for (String base : List.of("/usr/lib/gcc/" + multiarch, "/usr/lib/gcc-cross/" + multiarch)) {
            Path dir = Path.of(base);
            if (!Files.isDirectory(dir)) continue;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                for (Path v : ds) if (Files.isDirectory(v)) out.add(v);
            } catch (IOException e) {
                // unreadable: nothing to add from here
            }
        }
        out.sort((a, b) -> compareVersions(b.getFileName().toString(), a.getFileName().toString()));
        return out;
    }

    private static int compareVersions(String a, String b) {
        String[] x = a.split("\\."), y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int c = Integer.compare(num(x, i), num(y, i));
            if (c != 0) return c;
        }
        return a.compareTo(b);
    }

    private static int num(String[] parts, int i) {
        if (i >= parts.length) return 0;
        try {
            return Integer.parseInt(parts[i]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
