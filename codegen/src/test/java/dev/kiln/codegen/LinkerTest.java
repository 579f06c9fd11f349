package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinkerTest {
    @Test
    void multiarchNames() {
        assertEquals("x86_64-linux-gnu", Target.avx2().multiarch());
        assertEquals("aarch64-linux-gnu", dev.kiln.targets.CpuTarget.neon("cortex-a72").multiarch());
    }

    @Test
    void findsLibcInTheProbedDirectories() {
        var dirs = Toolchain.of(Target.avx2()).libraryDirs();
        assertTrue(dirs.stream().anyMatch(d -> Files.isRegularFile(d.resolve("libc.so.6"))), "libc.so.6 not in " + dirs);
    }

    /** aarch64 links against Debian's cross sysroot by default; a sysroot that is not there is a clear error. */
    @Test
    void crossTargetsUseASysroot(@TempDir Path dir) {
        var neon = dev.kiln.targets.CpuTarget.neon("cortex-a72");
        if (Files.isDirectory(Path.of("/usr/aarch64-linux-gnu/lib"))) {
            Toolchain tc = Toolchain.of(neon);
            assertEquals(Path.of("/usr/aarch64-linux-gnu"), tc.sysroot());
            assertTrue(tc.libraryDirs().stream().anyMatch(d -> Files.isRegularFile(d.resolve("libc.so.6"))), tc.libraryDirs().toString());
        }
        TargetException e = assertThrows(TargetException.class, () -> Toolchain.of(neon, dir.resolve("nowhere")));
        assertTrue(e.getMessage().contains("nowhere") && e.getMessage().contains("--sysroot"), e.getMessage());
        Toolchain empty = Toolchain.of(neon, dir);
        assertEquals(dir.toAbsolutePath(), empty.sysroot());
    }

    @Test
    void aBrokenObjectIsALinkErrorWithLldsMessage(@TempDir Path dir) throws Exception {
        Path obj = dir.resolve("bad.o"), so = dir.resolve("libbad.so");
        Files.writeString(obj, "not an object");
        TargetException e = assertThrows(TargetException.class, () -> Linker.linkShared(obj, so, Target.avx2()));
        assertTrue(e.getMessage().contains("lld") && e.getMessage().contains("bad.o"), e.getMessage());
        assertFalse(Files.exists(so));
    }

    /** A target whose system libraries are not installed: the error names them and their Debian package. */
    @Test
    void missingSystemLibrariesNameTheirPackage(@TempDir Path dir) throws Exception {
        Target riscv = new dev.kiln.targets.CpuTarget("riscv64-test", "riscv64-unknown-linux-gnu", "generic-rv64", "", 128, 32,
                new dev.kiln.targets.Caches(32768, 1 << 20, 0), 1);
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.exists(Path.of("/usr/lib/riscv64-linux-gnu/libc.so.6"))
                || Files.exists(Path.of("/usr/riscv64-linux-gnu/lib/libc.so.6")), "a riscv64 libc is installed");
        Path obj = dir.resolve("x.o");
        Files.writeString(obj, "unused");
        TargetException e = assertThrows(TargetException.class, () -> Linker.linkShared(obj, dir.resolve("libx.so"), riscv));
        assertTrue(e.getMessage().contains("libc.so.6") && e.getMessage().contains("libc6") && e.getMessage().contains("riscv64-test"),
                e.getMessage());
    }

    @Test
    void aMissingObjectIsAClearError(@TempDir Path dir) {
        TargetException e = assertThrows(TargetException.class,
                () -> Linker.linkShared(dir.resolve("none.o"), dir.resolve("libx.so"), Target.avx2()));
        assertTrue(e.getMessage().contains("none.o"), e.getMessage());
    }
}
