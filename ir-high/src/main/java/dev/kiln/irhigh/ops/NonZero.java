package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * NonZero: the coordinates of the non-zero elements, int64 {@code [rank, count]}, elements in
 * row-major order. {@code count} depends on the data: the output is bounded by {@code [rank,
 * numel]} (see {@link DataDependent}), exact when the input is a constant.
 */
final class NonZero implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 2);
        Value x = Ops.required(n, inputs, 0, "X");
        Ops.requireRankAtLeast(n, x, 0, "X", 1);
        Tensor c = Ops.constant(consts, 0);
        long count = c == null ? x.shape().numel() : nonZero(c).length;
        return DataDependent.withShapeOutputs(n, List.of(Ops.out(n, 0, DType.INT64, Shape.of(x.shape().rank(), count))));
    }

    private static int[] nonZero(Tensor x) {
        return java.util.stream.IntStream.range(0, x.size()).filter(i -> x.getDouble(i) != 0).toArray();
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor x = inputs.get(0);
        int[] at = nonZero(x);
        int rank = x.shape().rank();
        long[] strides = x.shape().strides();
        long[] out = new long[rank * at.length];
        for (int j = 0; j < at.length; j++)
            for (int d = 0; d < rank; d++) out[d * at.length + j] = at[j] / strides[d] % x.shape().dim(d);
        return DataDependent.withShapes(n, List.of(Tensor.ofLongs(Shape.of(rank, at.length), out)));
    }
}
