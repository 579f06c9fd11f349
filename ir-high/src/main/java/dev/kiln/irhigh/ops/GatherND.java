package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * GatherND: the last axis of {@code indices} (length m) addresses data's m axes after the first
 * {@code batch_dims}, which data and indices share. Output shape:
 * {@code indices.shape[:-1] + data.shape[batch_dims + m:]}. Negative indices count from the end.
 */
final class GatherND implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value data = Ops.required(n, inputs, 0, "data"), idx = Ops.required(n, inputs, 1, "indices");
        Ops.requireInteger(n, idx, 1, "indices");
        Ops.requireRankAtLeast(n, data, 0, "data", 1);
        Ops.requireRankAtLeast(n, idx, 1, "indices", 1);
        int r = data.shape().rank(), q = idx.shape().rank(), b = (int) n.attrInt("batch_dims", 0);
        if (b < 0 || b >= Math.min(r, q)) throw n.error("batch_dims " + b + " must be in [0, " + Math.min(r, q) + ")");
        for (int d = 0; d < b; d++)
            if (data.shape().dim(d) != idx.shape().dim(d))
                throw n.error("data " + Ops.type(data) + " and indices " + Ops.type(idx) + " differ in batch axis " + d);
        int m = idx.shape().dim(q - 1);
        if (m < 1 || m > r - b) throw n.error("the last axis of indices " + Ops.type(idx) + " must be in [1, " + (r - b) + "]");
        int[] out = new int[q - 1 + r - b - m];
        for (int d = 0; d < q - 1; d++) out[d] = idx.shape().dim(d);
        for (int d = b + m; d < r; d++) out[q - 1 + d - b - m] = data.shape().dim(d);
        return List.of(Ops.out(n, 0, data.dtype(), new Shape(out)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape os = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor data = inputs.get(0), idx = inputs.get(1);
        Shape ds = data.shape(), is = idx.shape();
        int r = ds.rank(), q = is.rank(), b = (int) n.attrInt("batch_dims", 0), m = is.dim(q - 1);
        Tensor out = Tensor.zeros(data.dtype(), os);
        int[] c = new int[os.rank()];
        for (int e = 0; e < out.size(); e++) {
            int rest = e;
            for (int d = os.rank() - 1; d >= 0; d--) {
                c[d] = rest % os.dim(d);
                rest /= os.dim(d);
            }
            int row = 0; // flat index of indices[c[0..q-2], 0]
            for (int d = 0; d < q - 1; d++) row = row * is.dim(d) + c[d];
            row *= m;
            int src = 0;
            for (int d = 0; d < r; d++) {
                long k;
                if (d < b) k = c[d];
                else if (d < b + m) {
                    k = idx.getLong(row + d - b);
                    if (k < 0) k += ds.dim(d);
                    if (k < 0 || k >= ds.dim(d)) throw n.error("index " + idx.getLong(row + d - b) + " is out of range for data axis " + d + " of extent " + ds.dim(d));
                } else k = c[q - 1 + d - b - m];
                src = src * ds.dim(d) + (int) k;
            }
            if (data.dtype().isFloat()) out.setDouble(e, data.getDouble(src));
            else out.setLong(e, data.getLong(src));
        }
        return List.of(out);
    }
}
