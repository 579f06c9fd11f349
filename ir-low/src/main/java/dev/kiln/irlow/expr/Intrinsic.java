package dev.kiln.irlow.expr;

/**
 * Functions callable from the loop IR. The math functions take float arguments (POW and ATAN2
 * take two); {@link #DOT4_U8S8} is integer.
 */
public enum Intrinsic {
    EXP, LOG, SQRT, TANH, ERF, POW, ABS, FLOOR, CEIL, ROUND_EVEN, SIN, COS, TAN, ASIN, ACOS, ATAN, SINH, COSH, ASINH, ACOSH, ATANH, SIGMOID, ATAN2, IS_NAN, IS_INF,
    /**
     * {@code dot4(acc, a, b)} on i32 lanes, each of {@code a} and {@code b} holding four bytes
     * (little-endian): {@code acc + sum_j u8(a >> 8j) * s8(b >> 8j)}, wrapping. The four products
     * of one lane sum exactly (at most 4 * 255 * 128 in magnitude); only the addition to
     * {@code acc} wraps. This is x86's {@code vpdpbusd} (AVX-512 VNNI, AVX-VNNI) lane by lane;
     * other targets widen.
     */
    DOT4_U8S8;

    /** How many arguments the function takes. */
    public int arity() {
        return switch (this) {
            case POW, ATAN2 -> 2;
            case DOT4_U8S8 -> 3;
            default -> 1;
        };
    }

    /** The lane semantics of {@link #DOT4_U8S8} on 32-bit words, as Java ints. */
    public static int dot4(int acc, int a, int b) {
        int s = 0;
        for (int j = 0; j < 4; j++) s += ((a >>> (8 * j)) & 0xff) * (byte) (b >>> (8 * j));
        return acc + s;
    }
}
