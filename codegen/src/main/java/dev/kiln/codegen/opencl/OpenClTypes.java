package dev.kiln.codegen.opencl;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;

/**
 * How Kiln's types are spelled in OpenCL C 1.2. A scalar bool is a C {@code bool} (comparisons
 * give 0 or 1) and a {@code uchar} in memory. A bool vector is a {@code charN} mask whose true
 * lanes are -1, which is what OpenCL's vector comparisons give and {@code select} reads.
 */
final class OpenClTypes {
    private OpenClTypes() {}

    /** The vector widths OpenCL C has ({@code float2} ... {@code float16}). */
    static boolean isVectorWidth(int lanes) {
        return lanes == 2 || lanes == 3 || lanes == 4 || lanes == 8 || lanes == 16;
    }

    /** Refuses types OpenCL C 1.2 on this device cannot hold; {@code where} names the kernel. */
    static void check(Type t, String where) {
        check(t.scalar(), where);
        if (t.lanes() > 1 && !isVectorWidth(t.lanes()))
            throw new OpenClException(where + ": a " + t.lanes() + "-lane vector (" + t + ") has no OpenCL C type; OpenCL has 2, 3, 4, 8 "
                    + "and 16 lanes: vectorize by one of those widths (split the loop first)");
    }

    static void check(ScalarType t, String where) {
        // f16 is a storage format here (vload_half/vstore_half are core OpenCL 1.2), computed in float.
    }

    /** f16 vectors and f16 local arrays would need cl_khr_fp16 (arithmetic and declarations on half). */
    static void checkHalfStorage(Type t, String where) {
        if (t.scalar() == ScalarType.BF16 && t.lanes() > 1)
            throw new OpenClException(where + ": a vector of bfloat16 (" + t + "); bfloat16 values are converted one at a time");
        if (t.scalar() == ScalarType.F16 && t.lanes() > 1)
            throw new OpenClException(where + ": a vector of f16 (" + t + ") needs the cl_khr_fp16 extension; f16 values are "
                    + "loaded and stored one at a time (vload_half/vstore_half) and computed in float");
    }

    /** The C type of a scalar value in registers. */
    static String scalar(ScalarType t) {
        return switch (t) {
            case BOOL -> "bool";
            case I8 -> "char";
            case I16 -> "short";
            case I32 -> "int";
            case I64 -> "long";
            case U8 -> "uchar";
            case U16 -> "ushort";
            case U32 -> "uint";
            case U64 -> "ulong";
            case F16 -> "float"; // computed in float, rounded to half precision after every operation
            case BF16 -> "ushort"; // its bit pattern, converted by helpers (Helpers.bfloat16)
            case F32 -> "float";
            case F64 -> "double";
        };
    }

    /** The C type of an element in memory (bool is one byte). */
    static String memory(ScalarType t) {
        return t == ScalarType.BOOL ? "uchar" : t == ScalarType.F16 ? "half" : scalar(t);
    }

    /** The C type of a value of type {@code t}: scalars as {@link #scalar}, vectors {@code floatN}, bool vectors {@code charN}. */
    static String of(Type t) {
        if (t.lanes() == 1) return scalar(t.scalar());
        return (t.isBool() ? "char" : scalar(t.scalar())) + t.lanes();
    }

    /** The vector type of {@code lanes} elements as they lie in memory. */
    static String memoryVector(ScalarType t, int lanes) {
        return memory(t) + lanes;
    }

    /** The signed integer type as wide as {@code t}'s elements: what a mask for {@code select} on {@code t} must be. */
    static String maskElement(ScalarType t) {
        return switch (t.bytes()) {
            case 1 -> "char";
            case 2 -> "short";
            case 4 -> "int";
            default -> "long";
        };
    }

    /** Whether C promotes arithmetic on this scalar type to int, so results must be cast back to wrap. */
    static boolean promotes(ScalarType t) {
        return t.isInt() && t.bits < 32;
    }
}
