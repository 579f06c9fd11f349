package dev.kiln.autotune.runner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Seeded inputs are reproducible and in range; output comparison follows |a - e| <= atol + rtol |e|. */
class TensorBytesTest {
    @Test
    void seedsAreDeterministicAndDistinct() {
        assertArrayEquals(TensorBytes.random("float32", 100, 7), TensorBytes.random("float32", 100, 7));
        assertFalse(java.util.Arrays.equals(TensorBytes.random("float32", 100, 7), TensorBytes.random("float32", 100, 8)));
    }

    @Test
    void randomValuesAreInTheirRanges() {
        ByteBuffer f = le(TensorBytes.random("float32", 1000, 3));
        ByteBuffer i = le(TensorBytes.random("int64", 1000, 3));
        ByteBuffer u = le(TensorBytes.random("uint8", 1000, 3));
        boolean negative = false;
        for (int k = 0; k < 1000; k++) {
            float x = f.getFloat(k * 4);
            assertTrue(x >= -1 && x < 1, "float " + x);
            long n = i.getLong(k * 8);
            assertTrue(n >= -8 && n < 8, "int64 " + n);
            negative |= n < 0;
            int b = Byte.toUnsignedInt(u.get(k));
            assertTrue(b < 8, "uint8 " + b);
        }
        assertTrue(negative, "signed integers should include negatives");
    }

    @Test
    void comparisonUsesAtolPlusRtolTimesExpected() {
        byte[] expected = floats(100f, 1f, Float.NaN);
        // 100.5 is within 0 + 0.01 * 100; 1.02 is not within 0.01 * 1.
        TensorBytes.Comparison c = TensorBytes.compare("float32", floats(100.5f, 1.02f, Float.NaN), expected, 0.01, 0);
        assertEquals(1, c.mismatches());
        assertEquals(1, c.firstMismatch());
        assertEquals(0.5, c.maxAbsError(), 1e-9);
        assertTrue(TensorBytes.compare("float32", floats(100.5f, 1.02f, Float.NaN), expected, 0.01, 0.05).ok());
        assertFalse(TensorBytes.compare("float32", floats(100f, 1f, 0f), expected, 0.01, 0.05).ok(), "NaN vs 0 must differ");
    }

    @Test
    void integersCompareExactlyWithZeroTolerance() {
        ByteBuffer a = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(-3).putInt(5);
        ByteBuffer e = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(-3).putInt(6);
        TensorBytes.Comparison c = TensorBytes.compare("int32", a.array(), e.array(), 0, 0);
        assertEquals(1, c.mismatches());
        assertEquals(1.0, c.maxAbsError());
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }
}
