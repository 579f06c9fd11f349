package dev.kiln.targets.cpu;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.targets.TargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader's checks; running real Kiln libraries is tested in the codegen module. */
class NativeModelTest {
    @Test
    void parsesMetadata() {
        NativeModel.Metadata m = NativeModel.parseMetadata("""
                {"name": "net", "inputs": [{"name": "x", "dtype": "float32", "shape": [1, 3, 224, 224]}],
                 "outputs": [{"name": "y", "dtype": "int64", "shape": [1]}, {"name": "s", "dtype": "bool", "shape": []}],
                 "extra": 42}""");
        assertEquals("net", m.name());
        assertEquals(List.of(new NativeModel.TensorInfo("x", "float32", new long[] {1, 3, 224, 224})), m.inputs());
        assertEquals(2, m.outputs().size());
        assertEquals(4L * 3 * 224 * 224, m.inputs().get(0).bytes());
        assertEquals(8, m.outputs().get(0).bytes());
        assertEquals(1, m.outputs().get(1).bytes(), "a scalar has one element");
        assertEquals(-1, new NativeModel.TensorInfo("q", "complex64", new long[] {2}).bytes());
    }

    @Test
    void malformedMetadataIsAClearError() {
        assertThrows(TargetException.class, () -> NativeModel.parseMetadata("{\"inputs\": []}"));
        assertThrows(TargetException.class, () -> NativeModel.parseMetadata("not json"));
        assertThrows(TargetException.class, () -> NativeModel.parseMetadata("{\"inputs\": [{\"name\": \"x\"}], \"outputs\": []}"));
    }

    @Test
    void missingFileIsAClearError(@TempDir Path dir) {
        TargetException e = assertThrows(TargetException.class, () -> NativeModel.load(dir.resolve("libnope.so")));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void garbageFileIsAClearError(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("libgarbage.so");
        Files.writeString(p, "this is not an ELF file");
        TargetException e = assertThrows(TargetException.class, () -> NativeModel.load(p));
        assertTrue(e.getMessage().contains("cannot load"), e.getMessage());
    }

    /** A library of another architecture (here an ELF header saying aarch64) names it and what to do instead. */
    @Test
    void aLibraryOfAnotherArchitectureSaysWhatToDo(@TempDir Path dir) throws Exception {
        assumeTrue(dev.kiln.targets.CpuTarget.hostArch().equals("x86_64"), "needs an x86_64 machine");
        byte[] header = new byte[64];
        header[0] = 0x7f;
        header[1] = 'E';
        header[2] = 'L';
        header[3] = 'F';
        header[18] = (byte) 0xb7; // EM_AARCH64
        Path p = dir.resolve("libarm.so");
        Files.write(p, header);
        TargetException e = assertThrows(TargetException.class, () -> NativeModel.load(p));
        assertTrue(e.getMessage().contains("aarch64 library") && e.getMessage().contains("qemu-aarch64")
                && e.getMessage().contains("--emit exe"), e.getMessage());
    }

    @Test
    void aLibraryWithoutTheKilnSymbolsIsRejected() {
        Path libm = List.of("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6")
                .stream().map(Path::of).filter(Files::isRegularFile).findFirst().orElse(null);
        assumeTrue(libm != null, "no libm.so.6 in the usual places");
        TargetException e = assertThrows(TargetException.class, () -> NativeModel.load(libm));
        assertTrue(e.getMessage().contains("not a Kiln model library") && e.getMessage().contains("kiln_model_run"), e.getMessage());
    }
}
