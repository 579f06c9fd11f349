package dev.kiln.irlow;

/** The type of an expression: a scalar type and a vector lane count (1 for scalars). */
public record Type(ScalarType scalar, int lanes) {
    public static final Type BOOL = new Type(ScalarType.BOOL, 1);
    public static final Type I32 = new Type(ScalarType.I32, 1);
    public static final Type I64 = new Type(ScalarType.I64, 1);
    public static final Type F32 = new Type(ScalarType.F32, 1);
    public static final Type F64 = new Type(ScalarType.F64, 1);
    /** The type of loop variables and buffer indices. */
    public static final Type INDEX = I64;

    public Type {
        if (lanes < 1) throw new IllegalArgumentException("lanes must be >= 1: " + lanes);
    }

    public static Type of(ScalarType s) {
        return new Type(s, 1);
    }

    public Type withLanes(int n) {
        return new Type(scalar, n);
    }

    public Type element() {
        return lanes == 1 ? this : new Type(scalar, 1);
    }

    public boolean isVector() {
        return lanes > 1;
    }

    public boolean isFloat() {
        return scalar.isFloat;
    }

    public boolean isInt() {
        return scalar.isInt();
    }

    public boolean isBool() {
        return scalar == ScalarType.BOOL;
    }

    @Override
    public String toString() {
        String s = scalar.name().toLowerCase();
        return lanes == 1 ? s : s + "x" + lanes;
    }
}
