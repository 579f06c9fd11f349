package dev.kiln.frontend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @TempDir
    Path dir;

    /** The rule kiln run and compiled programs share for an output's file name. */
    @Test
    void outputFilesAreSanitizedNames() {
        assertEquals("y.npy", Npy.fileName("y"));
        assertEquals("conv_1_out.0.npy", Npy.fileName("conv/1:out.0"));
        assertEquals("output.npy", Npy.fileName(".."));
        assertEquals("output.npy", Npy.fileName(""));
    }

    @Test
    void roundTripsEveryDtype() {
        for (DType t : DType.values()) {
            Tensor x = Tensor.generate(t, new Shape(2, 3), i -> t == DType.BOOL ? i % 2 : i * 3 - 4 * (t.isUnsigned() ? 0 : 1));
            Path p = dir.resolve(t.numpyName + ".npy");
            Npy.write(p, x);
            assertEquals(x, Npy.read(p), t.numpyName);
        }
    }

    @Test
    void readsAFileWrittenByNumpy() throws Exception {
        // np.save of np.array([[1.5, -2.0, 3.25]], dtype=np.float32), byte for byte (numpy 1.x format 1.0).
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }";
        header = header + " ".repeat(128 - 10 - header.length() - 1) + "\n";
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        byte[] data = HexFormat.of().parseHex("0000c03f000000c000005040");
        byte[] file = new byte[10 + h.length + data.length];
        byte[] pre = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) h.length, 0};
        System.arraycopy(pre, 0, file, 0, 10);
        System.arraycopy(h, 0, file, 10, h.length);
        System.arraycopy(data, 0, file, 10 + h.length, data.length);
        Path p = dir.resolve("np.npy");
        Files.write(p, file);
        Tensor t = Npy.read(p);
        assertEquals(new Shape(1, 3), t.shape());
        assertArrayEquals(new float[] {1.5f, -2.0f, 3.25f}, t.floats());
        // and what Kiln writes has numpy's layout: header padded so data starts at a multiple of 64
        Npy.write(dir.resolve("k.npy"), t);
        byte[] ours = Files.readAllBytes(dir.resolve("k.npy"));
        assertEquals(0, (ours.length - 12) % 64);
        assertTrue(new String(ours, 10, 60, StandardCharsets.ISO_8859_1).contains("'shape': (1, 3)"));
    }

    @Test
    void rejectsBadFilesClearly() throws Exception {
        Path p = dir.resolve("bad.npy");
        Files.writeString(p, "hello");
        KilnException e = assertThrows(KilnException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().contains("bad.npy"), e.getMessage());
        Tensor x = Tensor.ofFloats(new Shape(4), 1, 2, 3, 4);
        Npy.write(p, x);
        byte[] b = Files.readAllBytes(p);
        Files.write(p, java.util.Arrays.copyOf(b, b.length - 4));
        e = assertThrows(KilnException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().contains("needs 16"), e.getMessage());
    }
}
