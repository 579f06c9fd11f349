package dev.kiln.irhigh;

/** Element types of graph tensors, with their ONNX codes and numpy names. */
public enum DType {
    FLOAT32(1, "float32", 4),
    UINT8(2, "uint8", 1),
    INT8(3, "int8", 1),
    UINT16(4, "uint16", 2),
    INT16(5, "int16", 2),
    INT32(6, "int32", 4),
    INT64(7, "int64", 8),
    BOOL(9, "bool", 1),
    FLOAT16(10, "float16", 2),
    FLOAT64(11, "float64", 8),
    UINT32(12, "uint32", 4),
    UINT64(13, "uint64", 8),
    BFLOAT16(16, "bfloat16", 2);

    /** The TensorProto.DataType code. */
    public final int onnxCode;
    /** The numpy dtype name, used in metadata JSON and .npy headers. */
    public final String numpyName;
    /** Size of one element in bytes. */
    public final int byteSize;

    DType(int onnxCode, String numpyName, int byteSize) {
        this.onnxCode = onnxCode;
        this.numpyName = numpyName;
        this.byteSize = byteSize;
    }

    public boolean isFloat() {
        return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16;
    }

    public boolean isInteger() {
        return !isFloat() && this != BOOL;
    }

    public boolean isUnsigned() {
        return this == UINT8 || this == UINT16 || this == UINT32 || this == UINT64;
    }

    /** The type for an ONNX TensorProto.DataType code; throws for codes Kiln does not support. */
    public static DType fromOnnx(int code) {
        for (DType t : values()) if (t.onnxCode == code) return t;
        throw new KilnException("unsupported ONNX tensor element type " + code + " ("
                + onnxName(code) + "); Kiln supports " + java.util.Arrays.toString(values()));
    }

    /** bfloat16 bits of f, rounded to nearest even (NaN stays a quiet NaN). */
    public static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The float a bfloat16 bit pattern stands for. */
    public static float fromBfloat16(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** f rounded to bfloat16 precision (kept as a float). */
    public static float roundBfloat16(float f) {
        return fromBfloat16(toBfloat16(f));
    }

    public static DType fromNumpy(String name) {
        for (DType t : values()) if (t.numpyName.equals(name)) return t;
        throw new KilnException("unsupported numpy dtype '" + name + "'");
    }

    private static String onnxName(int code) {
        return switch (code) {
            case 0 -> "UNDEFINED";
            case 8 -> "STRING";
            case 14 -> "COMPLEX64";
            case 15 -> "COMPLEX128";
            default -> "code " + code;
        };
    }
}
