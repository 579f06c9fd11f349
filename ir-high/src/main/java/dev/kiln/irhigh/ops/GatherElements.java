package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * GatherElements: {@code out[i0..] = data[i0.., indices[i0..] at axis, ..]}; the output has
 * the indices' shape. Negative indices count from the end of the axis.
 */
final class GatherElements implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value data = Ops.required(n, inputs, 0, "data"), idx = Ops.required(n, inputs, 1, "indices");
        Ops.requireInteger(n, idx, 1, "indices");
        if (idx.shape().rank() != data.shape().rank())
            throw n.error("indices " + Ops.type(idx) + " should have the rank of data " + Ops.type(data));
        Ops.axis(n, n.attrInt("axis", 0), data.shape().rank(), "attribute 'axis'");
        return List.of(Ops.out(n, 0, data.dtype(), idx.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor data = inputs.get(0), idx = inputs.get(1);
        Shape ds = data.shape(), is = idx.shape();
        int r = ds.rank(), a = Ops.axis(n, n.attrInt("axis", 0), r, "attribute 'axis'");
        Tensor out = Tensor.zeros(data.dtype(), is);
        int[] c = new int[r];
        for (int e = 0; e < idx.size(); e++) {
            int src = dataPosition(n, ds, is, a, idx, e, c);
            if (data.dtype().isFloat()) out.setDouble(e, data.getDouble(src));
            else out.setLong(e, data.getLong(src));
        }
        return List.of(out);
    }

    /**
     * The flat position in data (shape {@code ds}) addressed by element {@code e} of the indices
     * (shape {@code is}) along axis {@code a}: the element's own coordinates with the one on the
     * axis replaced by its index value (negative values wrap). {@code c} is scratch space.
     */
    static int dataPosition(Node n, Shape ds, Shape is, int a, Tensor idx, int e, int[] c) {
        int r = ds.rank(), rest = e;
        for (int d = r - 1; d >= 0; d--) {
            c[d] = rest % is.dim(d);
            rest /= is.dim(d);
        }
        long k = idx.getLong(e);
        if (k < 0) k += ds.dim(a);
        if (k < 0 || k >= ds.dim(a)) throw n.error("index " + idx.getLong(e) + " is out of range for axis " + a + " of extent " + ds.dim(a));
        int pos = 0;
        for (int d = 0; d < r; d++) pos = pos * ds.dim(d) + (d == a ? (int) k : c[d]);
        return pos;
    }
}
