package dev.kiln.irlow;

/** Scalar element types of the loop IR. */
public enum ScalarType {
    BOOL(1, false, false), I8(8, false, true), I16(16, false, true), I32(32, false, true), I64(64, false, true),
    U8(8, false, false), U16(16, false, false), U32(32, false, false), U64(64, false, false),
    F16(16, true, true), F32(32, true, true), F64(64, true, true),
    /** bfloat16: fp32's exponent, 8 bits of mantissa; codegen holds it as its 16-bit pattern. */
    BF16(16, true, true);

    public final int bits;
    public final boolean isFloat;
    public final boolean isSigned;

    ScalarType(int bits, boolean isFloat, boolean isSigned) {
        this.bits = bits;
        this.isFloat = isFloat;
        this.isSigned = isSigned;
    }

    public boolean isInt() {
        return !isFloat && this != BOOL;
    }

    /** Bytes of one element in memory (bool is one byte). */
    public int bytes() {
        return Math.max(1, bits / 8);
    }
}
