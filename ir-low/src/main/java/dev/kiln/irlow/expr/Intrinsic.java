package dev.kiln.irlow.expr;

/**
 * Functions callable from the loop IR. The math functions take float arguments (POW and ATAN2
 * take two); {@link #DOT4_U8S8} is integer; {@link #PAIR_BF16} and {@link #DOT2_BF16} carry bfloat16
 * pairs in i32 words.
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
    DOT4_U8S8,
    /**
     * {@code pair_bf16(x)}: the bits of {@code 2n} bf16 lanes (or of one) as {@code n} i32 lanes (one),
     * in memory order: lane {@code i} holds {@code x[2i]} in its low half and {@code x[2i+1]} in its
     * high half (a single value: high half zero). A reinterpretation, no rounding: the rounding to
     * bf16 is the cast that made {@code x}. The words {@link #DOT2_BF16} reads.
     */
    PAIR_BF16,
    /**
     * {@code dot2_bf16(acc, a, b)} on lanes of f32 {@code acc} and i32 {@code a}, {@code b}, each word
     * a pair of bf16 (low half element 0, high half element 1):
     * {@code (acc + a1*b1) + a0*b0}, each product exact in f32 (8-bit mantissas) and each addition
     * rounded to nearest even. This is x86's {@code vdpbf16ps} (AVX-512 BF16) lane by lane, except that
     * the instruction also treats subnormal inputs and results as zero (DAZ/FTZ), which neither this
     * definition nor the widened code of other targets does: they differ only below 2^-126.
     */
    DOT2_BF16;

    /** How many arguments the function takes. */
    public int arity() {
        return switch (this) {
            case POW, ATAN2 -> 2;
            case DOT4_U8S8, DOT2_BF16 -> 3;
            default -> 1;
        };
    }

    /** The lane semantics of {@link #DOT4_U8S8} on 32-bit words, as Java ints. */
    public static int dot4(int acc, int a, int b) {
        int s = 0;
        for (int j = 0; j < 4; j++) s += ((a >>> (8 * j)) & 0xff) * (byte) (b >>> (8 * j));
        return acc + s;
    }

    /** The lane semantics of {@link #DOT2_BF16}, as Java floats (whose arithmetic rounds to nearest even). */
    public static float dot2Bf16(float acc, int a, int b) {
        float a0 = Float.intBitsToFloat(a << 16), a1 = Float.intBitsToFloat(a & 0xffff0000);
        float b0 = Float.intBitsToFloat(b << 16), b1 = Float.intBitsToFloat(b & 0xffff0000);
        float r = acc + a1 * b1;
        return r + a0 * b0;
    }

    /** The bits of {@code x} rounded to bf16 (nearest even; a NaN becomes a quiet NaN), as {@code PAIR_BF16} and the compiler's packing take them. */
    public static int bf16Bits(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) return (bits >>> 16 | 0x40) & 0xffff;
        return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
    }
}
