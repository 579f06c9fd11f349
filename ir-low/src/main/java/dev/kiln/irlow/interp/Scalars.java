package dev.kiln.irlow.interp;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;

/**
 * The arithmetic of scalar types on their storage form (integers in a long, sign- or
 * zero-extended; floats in a double). Shared by the interpreter and constant folding, so a
 * folded constant is exactly what running the code would give.
 */
public final class Scalars {
    private Scalars() {}

    /** Wraps an integer result to the width of {@code t} (bool: nonzero is 1). */
    public static long wrap(ScalarType t, long v) {
        return switch (t) {
            case BOOL -> v != 0 ? 1 : 0;
            case I8 -> (byte) v;
            case I16 -> (short) v;
            case I32 -> (int) v;
            case U8 -> v & 0xFF;
            case U16 -> v & 0xFFFF;
            case U32 -> v & 0xFFFFFFFFL;
            default -> v;
        };
    }

    /** Rounds a float result to the precision of {@code t}. */
    public static double round(ScalarType t, double v) {
        return switch (t) {
            case F32 -> (float) v;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16((float) v));
            case BF16 -> bfloat16((float) v);
            default -> v;
        };
    }

    /** f rounded to bfloat16 (nearest even; a NaN stays NaN). */
    static float bfloat16(float f) {
        if (Float.isNaN(f)) return f;
        int bits = Float.floatToRawIntBits(f);
        return Float.intBitsToFloat(((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16) << 16);
    }

    public static double toDouble(ScalarType from, long v) {
        if (from == ScalarType.U64 && v < 0) return ((double) ((v >>> 1) | (v & 1))) * 2.0;
        return v;
    }

    /** Float to integer: truncates toward zero, then wraps (bool: nonzero is 1). */
    public static long fromDouble(ScalarType to, double d) {
        if (to == ScalarType.BOOL) return d != 0 ? 1 : 0;
        if (to == ScalarType.U64 && d >= 0x1p63) return (long) (d - 0x1p63) ^ Long.MIN_VALUE;
        return wrap(to, (long) d);
    }

    public static int compare(ScalarType t, long a, long b) {
        return t == ScalarType.U64 ? Long.compareUnsigned(a, b) : Long.compare(a, b);
    }

    public static boolean cmp(CmpOp op, int c) {
        return switch (op) {
            case EQ -> c == 0;
            case NE -> c != 0;
            case LT -> c < 0;
            case LE -> c <= 0;
            case GT -> c > 0;
            case GE -> c >= 0;
        };
    }

    public static boolean cmp(CmpOp op, double a, double b) {
        return switch (op) {
            case EQ -> a == b;
            case NE -> a != b;
            case LT -> a < b;
            case LE -> a <= b;
            case GT -> a > b;
            case GE -> a >= b;
        };
    }

    /** Floor division (unsigned for U64). */
    public static long floorDiv(ScalarType t, long a, long b) {
        if (b == 0) throw new ArithmeticException("integer division by zero");
        return t == ScalarType.U64 ? Long.divideUnsigned(a, b) : Math.floorDiv(a, b);
    }

    /** Floor modulo: the result has the divisor's sign (unsigned for U64). */
    public static long floorMod(ScalarType t, long a, long b) {
        if (b == 0) throw new ArithmeticException("integer modulo by zero");
        return t == ScalarType.U64 ? Long.remainderUnsigned(a, b) : Math.floorMod(a, b);
    }
}
