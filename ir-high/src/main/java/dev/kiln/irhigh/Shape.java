package dev.kiln.irhigh;

import java.util.Arrays;

/** A static tensor shape (every dimension known; dynamic ones are bound at compile time). */
public final class Shape {
    private final int[] dims;

    public Shape(int... dims) {
        for (int d : dims) {
            if (d < 0) throw new KilnException("negative dimension in shape " + Arrays.toString(dims));
        }
        this.dims = dims.clone();
    }

    public static Shape of(long... dims) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0 || dims[i] > Integer.MAX_VALUE)
                throw new KilnException("dimension out of range in shape " + Arrays.toString(dims));
            d[i] = (int) dims[i];
        }
        return new Shape(d);
    }

    public static final Shape SCALAR = new Shape();

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i < 0 ? i + dims.length : i];
    }

    public int[] dims() {
        return dims.clone();
    }

    public long[] longDims() {
        long[] r = new long[dims.length];
        for (int i = 0; i < dims.length; i++) r[i] = dims[i];
        return r;
    }

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    /** Row-major strides in elements. */
    public long[] strides() {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** Printed like {@code [1,3,224,224]}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : ",").append(dims[i]);
        return b.append(']').toString();
    }
}
