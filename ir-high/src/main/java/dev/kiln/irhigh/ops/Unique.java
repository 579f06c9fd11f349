package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * Unique: the distinct elements of the flattened input (no {@code axis}) or the distinct slices
 * along {@code axis}, ascending ({@code sorted=1}, slices compared element by element in
 * row-major order) or in order of first occurrence; with each one's first index, the inverse
 * map and the counts. The number of distinct slices depends on the data: Y, indices and counts
 * are bounded by the axis length (see {@link DataDependent}); inverse_indices is exact.
 */
final class Unique implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 4 + 3);
        Value x = Ops.required(n, inputs, 0, "X");
        Slices s = slices(n, x.shape());
        Tensor c = Ops.constant(consts, 0);
        long u = c == null ? s.count : distinct(n, c).firsts.size();
        long[] y = n.has("axis") ? x.shape().longDims() : new long[] {s.count};
        y[s.axis] = u;
        List<Value> out = new ArrayList<>(List.of(Ops.out(n, 0, x.dtype(), Shape.of(y))));
        if (DataDependent.onnxOutputs(n) > 1) out.add(Ops.out(n, 1, DType.INT64, Shape.of(u)));
        if (DataDependent.onnxOutputs(n) > 2) out.add(Ops.out(n, 2, DType.INT64, Shape.of(s.count)));
        if (DataDependent.onnxOutputs(n) > 3) out.add(Ops.out(n, 3, DType.INT64, Shape.of(u)));
        return DataDependent.withShapeOutputs(n, out);
    }

    /** The input seen as {@code outer x count x inner} slices along {@code axis} (the flattened input without one). */
    record Slices(int axis, long outer, long count, long inner) {}

    static Slices slices(Node n, Shape x) {
        if (DataDependent.onnxOutputs(n) > 4) throw n.error("has " + DataDependent.onnxOutputs(n) + " outputs but Unique has 1 to 4");
        if (!n.has("axis")) return new Slices(0, 1, x.numel(), 1);
        int a = Ops.axis(n, n.attrInt("axis", 0), x.rank(), "attribute 'axis'");
        return new Slices(a, Ops.product(x.dims(), 0, a), x.dim(a), Ops.product(x.dims(), a + 1, x.rank()));
    }

    /** The first position of each distinct slice, in output order, and each position's distinct slice. */
    private record Distinct(List<Integer> firsts, int[] inverse, long[] counts) {}

    private static Distinct distinct(Node n, Tensor x) {
        Slices s = slices(n, x.shape());
        double[] v = TensorData.toDoubles(x);
        int len = (int) s.count;
        java.util.function.IntBinaryOperator cmp = (p, q) -> {
            for (long o = 0; o < s.outer; o++)
                for (long i = 0; i < s.inner; i++) {
                    // Ordered by < as ONNX Runtime's std::sort and std::map compare: -0.0 equals 0.0.
                    double a = v[(int) ((o * len + p) * s.inner + i)], b = v[(int) ((o * len + q) * s.inner + i)];
                    if (a < b) return -1;
                    if (b < a) return 1;
                }
            return 0;
        };
        List<Integer> firsts = new ArrayList<>();
        for (int i = 0; i < len; i++) {
            int at = i;
            if (firsts.stream().noneMatch(f -> cmp.applyAsInt(f, at) == 0)) firsts.add(i);
        }
        if (n.attrInt("sorted", 1) != 0) firsts.sort(cmp::applyAsInt);
        int[] inverse = new int[len];
        long[] counts = new long[firsts.size()];
        for (int i = 0; i < len; i++)
            for (int k = 0; k < firsts.size(); k++)
                if (cmp.applyAsInt(firsts.get(k), i) == 0) {
                    inverse[i] = k;
                    counts[k]++;
                    break;
                }
        return new Distinct(firsts, inverse, counts);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor x = inputs.get(0);
        Slices s = slices(n, x.shape());
        Distinct d = distinct(n, x);
        int u = d.firsts.size();
        long[] ys = n.has("axis") ? x.shape().longDims() : new long[] {s.count};
        ys[s.axis] = u;
        Tensor y = Tensor.zeros(x.dtype(), Shape.of(ys));
        for (long o = 0; o < s.outer; o++)
            for (int k = 0; k < u; k++)
                for (long i = 0; i < s.inner; i++) {
                    int dst = (int) ((o * u + k) * s.inner + i), src = (int) ((o * s.count + d.firsts.get(k)) * s.inner + i);
                    if (x.dtype().isFloat()) y.setDouble(dst, x.getDouble(src));
                    else y.setLong(dst, x.getLong(src));
                }
        List<Tensor> out = new ArrayList<>(List.of(y));
        int k = DataDependent.onnxOutputs(n);
        if (k > 1) out.add(Tensor.ofLongs(new Shape(u), d.firsts.stream().mapToLong(Integer::longValue).toArray()));
        if (k > 2) out.add(Tensor.ofLongs(new Shape((int) s.count), java.util.Arrays.stream(d.inverse).asLongStream().toArray()));
        if (k > 3) out.add(Tensor.ofLongs(new Shape(u), d.counts));
        return DataDependent.withShapes(n, out);
    }
}
