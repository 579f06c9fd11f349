package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * ScatterND: a copy of data where each row of {@code indices} (its last axis, length m, addresses
 * data's first m axes) receives the matching slice of updates
 * ({@code updates.shape = indices.shape[:-1] + data.shape[m:]}), replacing it ({@code reduction}
 * "none"; the last of duplicates wins) or combined with it ("add", "mul", "max", "min").
 */
final class ScatterND implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 3, 3);
        Ops.requireOutputs(n, 1, 1);
        Value data = Ops.required(n, inputs, 0, "data"), idx = Ops.required(n, inputs, 1, "indices");
        Value upd = Ops.required(n, inputs, 2, "updates");
        Ops.requireInteger(n, idx, 1, "indices");
        Ops.requireSameDtype(n, data, 0, "data", upd, 2, "updates");
        Ops.requireRankAtLeast(n, idx, 1, "indices", 1);
        int r = data.shape().rank(), q = idx.shape().rank(), m = idx.shape().dim(q - 1);
        if (m < 1 || m > r) throw n.error("the last axis of indices " + Ops.type(idx) + " must be in [1, " + r + "]");
        int[] want = new int[q - 1 + r - m];
        for (int d = 0; d < q - 1; d++) want[d] = idx.shape().dim(d);
        for (int d = m; d < r; d++) want[q - 1 + d - m] = data.shape().dim(d);
        if (!upd.shape().equals(new Shape(want)))
            throw n.error("updates " + Ops.type(upd) + " should have shape " + new Shape(want) + " for data " + Ops.type(data)
                    + " and indices " + Ops.type(idx));
        ScatterElements.reduction(n);
        return List.of(Ops.out(n, 0, data.dtype(), data.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor data = inputs.get(0), idx = inputs.get(1), upd = inputs.get(2);
        Shape ds = data.shape();
        int m = idx.shape().dim(idx.shape().rank() - 1), rows = idx.size() / m;
        int slice = (int) Ops.product(ds.dims(), m, ds.rank());
        String red = ScatterElements.reduction(n);
        Tensor out = data.cast(data.dtype()); // a copy: tensors are immutable
        for (int row = 0; row < rows; row++) {
            int base = 0;
            for (int j = 0; j < m; j++) {
                long k = idx.getLong(row * m + j);
                if (k < 0) k += ds.dim(j);
                if (k < 0 || k >= ds.dim(j)) throw n.error("index " + idx.getLong(row * m + j) + " is out of range for data axis " + j + " of extent " + ds.dim(j));
                base = base * ds.dim(j) + (int) k;
            }
            for (int e = 0; e < slice; e++) ScatterElements.combine(red, out, base * slice + e, upd, row * slice + e);
        }
        return List.of(out);
    }
}
