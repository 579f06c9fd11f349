package dev.kiln.irhigh;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.IntToDoubleFunction;

/**
 * A dense row-major tensor with its data, used for initializers, constants and the reference
 * evaluator. Storage by element type: FLOAT32, FLOAT16 and BFLOAT16 in a {@code float[]} (16-bit
 * values are kept widened, rounded to their precision on the way in), FLOAT64 in a {@code double[]},
 * every integer type and BOOL in a {@code long[]} (bool as 0/1).
 */
public final class Tensor {
    private final DType dtype;
    private final Shape shape;
    private final Object data;

    private Tensor(DType dtype, Shape shape, Object data) {
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
        int len = java.lang.reflect.Array.getLength(data);
        if (len != shape.numel())
            throw new KilnException("tensor data has " + len + " elements but shape " + shape + " needs " + shape.numel());
    }

    public static Tensor ofFloats(Shape shape, float... values) {
        return new Tensor(DType.FLOAT32, shape, values);
    }

    public static Tensor ofDoubles(Shape shape, double... values) {
        return new Tensor(DType.FLOAT64, shape, values);
    }

    public static Tensor ofLongs(Shape shape, long... values) {
        return new Tensor(DType.INT64, shape, values);
    }

    /** A tensor of the given type whose storage array matches the type (see class doc). */
    public static Tensor of(DType dtype, Shape shape, Object storage) {
        Object d = switch (dtype) {
            case FLOAT32 -> (float[]) storage;
            case FLOAT16 -> roundHalf((float[]) storage);
            case BFLOAT16 -> roundBfloat16((float[]) storage);
            case FLOAT64 -> (double[]) storage;
            default -> wrapInts(dtype, (long[]) storage);
        };
        return new Tensor(dtype, shape, d);
    }

    /** A zero-filled tensor. */
    public static Tensor zeros(DType dtype, Shape shape) {
        int n = Math.toIntExact(shape.numel());
        Object d = switch (dtype) {
            case FLOAT32, FLOAT16, BFLOAT16 -> new float[n];
            case FLOAT64 -> new double[n];
            default -> new long[n];
        };
        return new Tensor(dtype, shape, d);
    }

    /** A tensor whose element i is f(i), converted to dtype. */
    public static Tensor generate(DType dtype, Shape shape, IntToDoubleFunction f) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < t.size(); i++) t.setDouble(i, f.applyAsDouble(i));
        return t;
    }

    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    public int size() {
        return Math.toIntExact(shape.numel());
    }

    /** The backing float[] (FLOAT32/FLOAT16 only); not a copy. */
    public float[] floats() {
        if (data instanceof float[] f) return f;
        throw new KilnException("tensor of " + dtype + " has no float data");
    }

    /** The backing double[] (FLOAT64 only); not a copy. */
    public double[] doubles() {
        if (data instanceof double[] d) return d;
        throw new KilnException("tensor of " + dtype + " has no double data");
    }

    /** The backing long[] (integer and bool types); not a copy. */
    public long[] longs() {
        if (data instanceof long[] l) return l;
        throw new KilnException("tensor of " + dtype + " has no integer data");
    }

    public double getDouble(int i) {
        return switch (data) {
            case float[] f -> f[i];
            case double[] d -> d[i];
            case long[] l -> dtype == DType.UINT64 ? unsignedToDouble(l[i]) : (double) l[i];
            default -> throw new IllegalStateException();
        };
    }

    public long getLong(int i) {
        return switch (data) {
            case float[] f -> (long) f[i];
            case double[] d -> (long) d[i];
            case long[] l -> l[i];
            default -> throw new IllegalStateException();
        };
    }

    /** Sets element i from a double, converting (and wrapping or rounding) to this tensor's type. */
    public void setDouble(int i, double v) {
        switch (data) {
            case float[] f -> f[i] = switch (dtype) {
                case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16((float) v));
                case BFLOAT16 -> DType.roundBfloat16((float) v);
                default -> (float) v;
            };
            case double[] d -> d[i] = v;
            case long[] l -> l[i] = dtype == DType.BOOL ? (v != 0 ? 1 : 0) : wrap(dtype, (long) v);
            default -> throw new IllegalStateException();
        }
    }

    public void setLong(int i, long v) {
        switch (data) {
            case float[] f -> setDouble(i, v);
            case double[] d -> d[i] = v;
            case long[] l -> l[i] = dtype == DType.BOOL ? (v != 0 ? 1 : 0) : wrap(dtype, v);
            default -> throw new IllegalStateException();
        }
    }

    /** All elements as long values (integer tensors), e.g. shape or axes inputs. */
    public long[] toLongArray() {
        long[] r = new long[size()];
        for (int i = 0; i < r.length; i++) r[i] = getLong(i);
        return r;
    }

    /** A copy of this tensor with another shape of the same element count. */
    public Tensor reshape(Shape newShape) {
        return new Tensor(dtype, newShape, data);
    }

    /** A copy of this tensor converted to another element type (ONNX Cast semantics). */
    public Tensor cast(DType to) {
        Tensor r = zeros(to, shape);
        for (int i = 0; i < size(); i++) {
            if (dtype.isFloat() && to.isInteger()) {
                double v = getDouble(i);
                r.setLong(i, Double.isNaN(v) ? 0 : (long) v);
            } else if (dtype.isFloat() || to.isFloat()) {
                r.setDouble(i, getDouble(i));
            } else {
                r.setLong(i, getLong(i));
            }
        }
        return r;
    }

    /** Raw little-endian bytes in the element type's layout (as in ONNX raw_data and .npy). */
    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(size() * dtype.byteSize).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < size(); i++) {
            switch (dtype) {
                case FLOAT32 -> b.putFloat(floats()[i]);
                case FLOAT16 -> b.putShort(Float.floatToFloat16(floats()[i]));
                case BFLOAT16 -> b.putShort(DType.toBfloat16(floats()[i]));
                case FLOAT64 -> b.putDouble(doubles()[i]);
                case INT8, UINT8, BOOL -> b.put((byte) longs()[i]);
                case INT16, UINT16 -> b.putShort((short) longs()[i]);
                case INT32, UINT32 -> b.putInt((int) longs()[i]);
                case INT64, UINT64 -> b.putLong(longs()[i]);
            }
        }
        return b.array();
    }

    /** Reads raw little-endian bytes in the element type's layout. */
    public static Tensor fromBytes(DType dtype, Shape shape, byte[] bytes) {
        long need = shape.numel() * dtype.byteSize;
        if (bytes.length != need)
            throw new KilnException("tensor of " + dtype.numpyName + shape + " needs " + need + " bytes but " + bytes.length + " were given");
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < t.size(); i++) {
            switch (dtype) {
                case FLOAT32 -> t.floats()[i] = b.getFloat();
                case FLOAT16 -> t.floats()[i] = Float.float16ToFloat(b.getShort());
                case BFLOAT16 -> t.floats()[i] = DType.fromBfloat16(b.getShort());
                case FLOAT64 -> t.doubles()[i] = b.getDouble();
                case INT8 -> t.longs()[i] = b.get();
                case UINT8 -> t.longs()[i] = b.get() & 0xff;
                case BOOL -> t.longs()[i] = b.get() != 0 ? 1 : 0;
                case INT16 -> t.longs()[i] = b.getShort();
                case UINT16 -> t.longs()[i] = b.getShort() & 0xffff;
                case INT32 -> t.longs()[i] = b.getInt();
                case UINT32 -> t.longs()[i] = b.getInt() & 0xffffffffL;
                case INT64, UINT64 -> t.longs()[i] = b.getLong();
            }
        }
        return t;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Tensor t) || t.dtype != dtype || !t.shape.equals(shape)) return false;
        return switch (data) {
            case float[] f -> Arrays.equals(f, (float[]) t.data);
            case double[] d -> Arrays.equals(d, (double[]) t.data);
            case long[] l -> Arrays.equals(l, (long[]) t.data);
            default -> false;
        };
    }

    @Override
    public int hashCode() {
        return dtype.hashCode() * 31 + shape.hashCode();
    }

    @Override
    public String toString() {
        int n = Math.min(size(), 8);
        StringBuilder b = new StringBuilder("Tensor(" + dtype.numpyName + shape + ": ");
        for (int i = 0; i < n; i++) b.append(i == 0 ? "" : ", ").append(dtype.isFloat() ? getDouble(i) : getLong(i));
        return b.append(size() > n ? ", ...)" : ")").toString();
    }

    private static float[] roundHalf(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Float.float16ToFloat(Float.floatToFloat16(v[i]));
        return r;
    }

    private static float[] roundBfloat16(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = DType.roundBfloat16(v[i]);
        return r;
    }

    private static long[] wrapInts(DType dtype, long[] v) {
        long[] r = new long[v.length];
        for (int i = 0; i < v.length; i++) r[i] = dtype == DType.BOOL ? (v[i] != 0 ? 1 : 0) : wrap(dtype, v[i]);
        return r;
    }

    /** Wraps an integer to the range of the type, as a C cast would. */
    static long wrap(DType t, long v) {
        return switch (t) {
            case INT8 -> (byte) v;
            case UINT8 -> v & 0xff;
            case INT16 -> (short) v;
            case UINT16 -> v & 0xffff;
            case INT32 -> (int) v;
            case UINT32 -> v & 0xffffffffL;
            default -> v;
        };
    }

    private static double unsignedToDouble(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
    }
}
