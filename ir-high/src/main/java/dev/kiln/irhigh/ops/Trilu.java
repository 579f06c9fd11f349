package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Trilu: keeps the upper ({@code upper=1}: column - row >= k) or lower (column - row <= k)
 * triangle of each matrix in the last two axes and zeroes the rest. k, an optional scalar input,
 * must be a compile-time constant.
 */
final class Trilu implements OpDef {

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.requireRankAtLeast(n, x, 0, "input", 2);
        if (Ops.optional(inputs, 1) != null) Ops.constLongs(n, consts, 1, "k");
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    /** The diagonal offset k (0 when the input is left out). */
    static long k(Node n, List<Tensor> consts) {
        return consts.size() > 1 && consts.get(1) != null ? Ops.constLongs(n, consts, 1, "k")[0] : 0;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        long k = k(n, inputs);
        boolean upper = n.attrInt("upper", 1) != 0;
        int r = x.shape().rank(), rows = x.shape().dim(r - 2), cols = x.shape().dim(r - 1);
        Tensor out = Tensor.zeros(x.dtype(), x.shape());
        for (int e = 0; e < x.size(); e++) {
            long j = e % cols, i = (e / cols) % rows;
            boolean keep = upper ? j - i >= k : j - i <= k;
            if (!keep) continue;
            if (x.dtype().isFloat()) out.setDouble(e, x.getDouble(e));
            else out.setLong(e, x.getLong(e));
        }
        return List.of(out);
    }
}
