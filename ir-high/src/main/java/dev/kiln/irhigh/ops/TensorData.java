package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;

/**
 * Flat-array access to tensor storage for the evaluator's loops, and the index maps that every
 * data-movement op (Transpose, Slice, Expand, Tile, Pad, broadcasting) reduces to: output element
 * i is input element {@code map[i]} ({@code -1}: a fill value).
 */
final class TensorData {
    private TensorData() {}

    /** The backing array: float[], double[] or long[] by dtype (see {@link Tensor}). */
    static Object storage(Tensor t) {
        return switch (t.dtype()) {
            case FLOAT32, FLOAT16, BFLOAT16 -> t.floats();
            case FLOAT64 -> t.doubles();
            default -> t.longs();
        };
    }

    /** Every element as a double (a copy; exact for floats, and for integers below 2^53). */
    static double[] toDoubles(Tensor t) {
        int n = t.size();
        double[] r = new double[n];
        switch (storage(t)) {
            case float[] f -> { for (int i = 0; i < n; i++) r[i] = f[i]; }
            case double[] d -> System.arraycopy(d, 0, r, 0, n);
            default -> { for (int i = 0; i < n; i++) r[i] = t.getDouble(i); }
        }
        return r;
    }

    /** A tensor of dtype from doubles, rounded (floats) or truncated toward zero (integers, NaN as 0). */
    static Tensor fromDoubles(DType dtype, Shape shape, double[] v) {
        return switch (dtype) {
            case FLOAT32 -> {
                float[] f = new float[v.length];
                for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
                yield Tensor.of(dtype, shape, f);
            }
            case FLOAT16, BFLOAT16 -> {
                float[] f = new float[v.length];
                for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
                yield Tensor.of(dtype, shape, f); // rounds to half precision
            }
            case FLOAT64 -> Tensor.of(dtype, shape, v);
            case BOOL -> {
                long[] l = new long[v.length];
                for (int i = 0; i < v.length; i++) l[i] = v[i] != 0 ? 1 : 0;
                yield Tensor.of(dtype, shape, l);
            }
            default -> {
                long[] l = new long[v.length];
                for (int i = 0; i < v.length; i++) l[i] = Double.isNaN(v[i]) ? 0 : (long) v[i];
                yield Tensor.of(dtype, shape, l); // wraps to the type's range
            }
        };
    }

    /** A tensor of an integer or bool dtype from longs (wrapped to the type's range). */
    static Tensor fromLongs(DType dtype, Shape shape, long[] v) {
        return Tensor.of(dtype, shape, v);
    }

    /**
     * Output element i = src element map[i], or {@code fill}'s only element where map[i] is -1
     * (fill null: zero). A null map is the identity (same element count).
     */
    static Tensor gather(Tensor src, Shape outShape, int[] map, Tensor fill) {
        int n = Math.toIntExact(outShape.numel());
        if (map == null) return src.reshape(outShape);
        return switch (storage(src)) {
            case float[] s -> {
                float fv = fill == null ? 0f : fill.floats()[0];
                float[] d = new float[n];
                for (int i = 0; i < n; i++) d[i] = map[i] < 0 ? fv : s[map[i]];
                yield Tensor.of(src.dtype(), outShape, d);
            }
            case double[] s -> {
                double fv = fill == null ? 0 : fill.doubles()[0];
                double[] d = new double[n];
                for (int i = 0; i < n; i++) d[i] = map[i] < 0 ? fv : s[map[i]];
                yield Tensor.of(src.dtype(), outShape, d);
            }
            case long[] s -> {
                long fv = fill == null ? 0 : fill.longs()[0];
                long[] d = new long[n];
                for (int i = 0; i < n; i++) d[i] = map[i] < 0 ? fv : s[map[i]];
                yield Tensor.of(src.dtype(), outShape, d);
            }
            default -> throw new IllegalStateException();
        };
    }

    /**
     * The index map of an output of shape {@code out} whose element at (i0, i1, ...) reads source
     * offset {@code contrib[0][i0] + contrib[1][i1] + ...}; a -1 contribution marks the element as
     * fill. Built axis by axis from the innermost, so the cost is linear in the output size.
     */
    static int[] axisMap(Shape out, int[][] contrib) {
        int[] cur = {0};
        for (int d = out.rank() - 1; d >= 0; d--) {
            int[] c = contrib[d];
            int len = out.dim(d);
            int[] next = new int[Math.multiplyExact(len, cur.length)];
            for (int i = 0; i < len; i++) {
                int base = i * cur.length;
                for (int j = 0; j < cur.length; j++)
                    next[base + j] = c[i] < 0 || cur[j] < 0 ? -1 : c[i] + cur[j];
            }
            cur = next;
        }
        return cur;
    }

    /**
     * The map that reads a tensor of shape {@code from} broadcast (numpy rules: align right,
     * size-1 dims repeat) to shape {@code to}; null when the shapes are equal.
     */
    static int[] broadcastMap(Shape from, Shape to) {
        if (from.equals(to)) return null;
        int r = to.rank();
        int off = r - from.rank();
        long[] strides = from.strides();
        int[][] contrib = new int[r][];
        for (int d = 0; d < r; d++) {
            int len = to.dim(d);
            contrib[d] = new int[len];
            if (d < off || from.dim(d - off) == 1) continue;
            for (int i = 0; i < len; i++) contrib[d][i] = (int) (i * strides[d - off]);
        }
        return axisMap(to, contrib);
    }

    /** Element i of an array read through an optional map. */
    static int at(int[] map, int i) {
        return map == null ? i : map[i];
    }
}
