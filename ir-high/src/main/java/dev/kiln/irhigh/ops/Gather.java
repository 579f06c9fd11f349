package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Gather along {@code axis}: output shape is data[:axis] + indices + data[axis+1:]. Negative
 * indices count from the end; out-of-range indices are an error.
 */
final class Gather implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value data = Ops.required(n, inputs, 0, "data"), idx = Ops.required(n, inputs, 1, "indices");
        Ops.requireRankAtLeast(n, data, 0, "data", 1);
        Ops.requireInteger(n, idx, 1, "indices");
        int r = data.shape().rank();
        int axis = Ops.axis(n, n.attrInt("axis", 0), r, "attribute 'axis'");
        Tensor known = Ops.constant(consts, 1);
        if (known != null) for (int i = 0; i < known.size(); i++) index(n, known.getLong(i), data.shape().dim(axis));
        int[] d = data.shape().dims(), id = idx.shape().dims();
        int[] out = new int[r - 1 + id.length];
        System.arraycopy(d, 0, out, 0, axis);
        System.arraycopy(id, 0, out, axis, id.length);
        System.arraycopy(d, axis + 1, out, axis + id.length, r - axis - 1);
        return List.of(Ops.out(n, 0, data.dtype(), new Shape(out)));
    }

    private static int index(Node n, long i, int dim) {
        if (i < -dim || i >= dim) throw n.error("index " + i + " is out of range for an axis of size " + dim);
        return (int) (i < 0 ? i + dim : i);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape outShape = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor data = inputs.get(0), idx = inputs.get(1);
        int[] d = data.shape().dims();
        int axis = Ops.axis(n, n.attrInt("axis", 0), d.length, "attribute 'axis'");
        int outer = (int) Ops.product(d, 0, axis), inner = (int) Ops.product(d, axis + 1, d.length), dim = d[axis];
        long[] ix = idx.longs();
        Tensor out = Tensor.zeros(data.dtype(), outShape);
        Object src = TensorData.storage(data), dst = TensorData.storage(out);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < ix.length; j++)
                System.arraycopy(src, (o * dim + index(n, ix[j], dim)) * inner, dst, (o * ix.length + j) * inner, inner);
        return List.of(out);
    }
}
