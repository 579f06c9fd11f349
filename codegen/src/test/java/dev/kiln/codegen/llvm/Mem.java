package dev.kiln.codegen.llvm;

import dev.kiln.irlow.ScalarType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads and writes buffer elements of any scalar type in native memory, as Java long or double. */
final class Mem {
    private Mem() {}

    static MemorySegment alloc(Arena a, ScalarType t, long n) {
        return a.allocate(Math.max(1, n) * t.bytes(), 64);
    }

    /** Element i as a long: sign-extended for signed types, zero-extended for unsigned and bool. */
    static long getLong(MemorySegment s, ScalarType t, long i) {
        return switch (t) {
            case BOOL, U8 -> Byte.toUnsignedLong(s.getAtIndex(ValueLayout.JAVA_BYTE, i));
            case I8 -> s.getAtIndex(ValueLayout.JAVA_BYTE, i);
            case I16 -> s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
            case U16 -> Short.toUnsignedLong(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case I32 -> s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case U32 -> Integer.toUnsignedLong(s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i));
            case I64, U64 -> s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            default -> throw new IllegalArgumentException(t + " is not an integer type");
        };
    }

    static double getDouble(MemorySegment s, ScalarType t, long i) {
        return switch (t) {
            case F16 -> Float.float16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case BF16 -> Float.intBitsToFloat((s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xffff) << 16);
            case F32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case F64 -> s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
            default -> throw new IllegalArgumentException(t + " is not a float type");
        };
    }

    /** Stores v (truncated to the type's width). */
    static void setLong(MemorySegment s, ScalarType t, long i, long v) {
        switch (t.bytes()) {
            case 1 -> s.setAtIndex(ValueLayout.JAVA_BYTE, i, (byte) v);
            case 2 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) v);
            case 4 -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, (int) v);
            default -> s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, v);
        }
    }

    /** Stores v rounded to the float type. */
    static void setDouble(MemorySegment s, ScalarType t, long i, double v) {
        switch (t) {
            case F16 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) v));
            case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(CastTest.toBfloat16((float) v)) >>> 16));
            case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) v);
            case F64 -> s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
            default -> throw new IllegalArgumentException(t + " is not a float type");
        }
    }

    static MemorySegment longs(Arena a, ScalarType t, long... v) {
        MemorySegment s = alloc(a, t, v.length);
        for (int i = 0; i < v.length; i++) setLong(s, t, i, v[i]);
        return s;
    }

    static MemorySegment doubles(Arena a, ScalarType t, double... v) {
        MemorySegment s = alloc(a, t, v.length);
        for (int i = 0; i < v.length; i++) setDouble(s, t, i, v[i]);
        return s;
    }
}
