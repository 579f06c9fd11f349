package dev.kiln.autotune.runner;

import dev.kiln.targets.cpu.NativeModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Dense tensors as the protocol carries them: little-endian bytes of a Kiln metadata dtype.
 * Generates the deterministic pseudo-random inputs a seed stands for and compares outputs with a
 * reference element by element.
 */
public final class TensorBytes {
    private TensorBytes() {}

    /**
     * The tensor a {@code seed} stands for: SplitMix64 draws, one per element; floating types are
     * uniform in [-1, 1), integer types in [-8, 8) (unsigned: [0, 8)), bool 0 or 1. Any runner must
     * generate the same bytes, so the tuner can rebuild an input from its seed.
     */
    public static byte[] random(String dtype, long numel, long seed) {
        int size = elementBytes(dtype);
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(numel * size)).order(ByteOrder.LITTLE_ENDIAN);
        long state = seed;
        for (long i = 0; i < numel; i++) {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            double unit = (z >>> 11) * 0x1.0p-53; // [0, 1)
            double signed = unit * 2 - 1;
            switch (dtype) {
                case "float32" -> b.putFloat((float) signed);
                case "float64" -> b.putDouble(signed);
                case "float16" -> b.putShort(Float.floatToFloat16((float) signed));
                case "bfloat16" -> b.putShort((short) (Float.floatToRawIntBits((float) signed) >>> 16));
                case "bool" -> b.put((byte) (z & 1));
                case "int8" -> b.put((byte) Math.floor(signed * 8));
                case "uint8" -> b.put((byte) (unit * 8));
                case "int16" -> b.putShort((short) Math.floor(signed * 8));
                case "uint16" -> b.putShort((short) (unit * 8));
                case "int32" -> b.putInt((int) Math.floor(signed * 8));
                case "uint32" -> b.putInt((int) (unit * 8));
                case "int64" -> b.putLong((long) Math.floor(signed * 8));
                case "uint64" -> b.putLong((long) (unit * 8));
                default -> throw new IllegalArgumentException("no random data for dtype " + dtype);
            }
        }
        return b.array();
    }

    /** Element {@code i} of a little-endian tensor of {@code dtype}, as a double. */
    public static double element(ByteBuffer b, String dtype, int i) {
        return switch (dtype) {
            case "float32" -> b.getFloat(i * 4);
            case "float64" -> b.getDouble(i * 8);
            case "float16" -> Float.float16ToFloat(b.getShort(i * 2));
            case "bfloat16" -> Float.intBitsToFloat(b.getShort(i * 2) << 16);
            case "bool", "int8" -> b.get(i);
            case "uint8" -> Byte.toUnsignedInt(b.get(i));
            case "int16" -> b.getShort(i * 2);
            case "uint16" -> Short.toUnsignedInt(b.getShort(i * 2));
            case "int32" -> b.getInt(i * 4);
            case "uint32" -> Integer.toUnsignedLong(b.getInt(i * 4));
            case "int64" -> b.getLong(i * 8);
            case "uint64" -> unsigned(b.getLong(i * 8));
            default -> throw new IllegalArgumentException("cannot compare dtype " + dtype);
        };
    }

    /** The outcome of comparing one output with its reference. */
    public record Comparison(double maxAbsError, int mismatches, int firstMismatch, double actual, double expected) {
        public boolean ok() {
            return mismatches == 0;
        }
    }

    /**
     * Compares {@code actual} with {@code expected} (both little-endian {@code dtype}); an element
     * passes when {@code |a - e| <= atol + rtol * |e|}, or both are NaN, or both are the same infinity.
     */
    public static Comparison compare(String dtype, byte[] actual, byte[] expected, double rtol, double atol) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException("expected " + expected.length + " bytes, got " + actual.length);
        }
        ByteBuffer a = ByteBuffer.wrap(actual).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer e = ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN);
        int n = actual.length / elementBytes(dtype);
        double maxErr = 0;
        int mismatches = 0;
        int first = -1;
        double firstA = 0;
        double firstE = 0;
        for (int i = 0; i < n; i++) {
            double x = element(a, dtype, i);
            double y = element(e, dtype, i);
            if (Double.isNaN(x) && Double.isNaN(y) || x == y) continue;
            double err = Math.abs(x - y);
            if (Double.isNaN(err)) err = Double.POSITIVE_INFINITY;
            maxErr = Math.max(maxErr, err);
            if (err <= atol + rtol * Math.abs(y)) continue;
            if (mismatches++ == 0) {
                first = i;
                firstA = x;
                firstE = y;
            }
        }
        return new Comparison(maxErr, mismatches, first, firstA, firstE);
    }

    static int elementBytes(String dtype) {
        int size = NativeModel.elementBytes(dtype);
        if (size < 0) throw new IllegalArgumentException("unknown dtype " + dtype);
        return size;
    }

    private static double unsigned(long v) {
        return v >= 0 ? v : (v >>> 1) * 2.0 + (v & 1);
    }
}
