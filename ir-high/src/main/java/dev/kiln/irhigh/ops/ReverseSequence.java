package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * ReverseSequence: for batch entry b, the first {@code sequence_lens[b]} steps along
 * {@code time_axis} are reversed; the steps after them are copied.
 */
final class ReverseSequence implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input"), lens = Ops.required(n, inputs, 1, "sequence_lens");
        Ops.requireInteger(n, lens, 1, "sequence_lens");
        Ops.requireRankAtLeast(n, x, 0, "input", 2);
        int[] ax = axes(n);
        if (ax[0] == ax[1] || ax[0] > 1 || ax[1] > 1 || ax[0] < 0 || ax[1] < 0)
            throw n.error("time_axis and batch_axis must be 0 and 1 in either order, got " + ax[0] + " and " + ax[1]);
        if (lens.shape().rank() != 1 || lens.shape().dim(0) != x.shape().dim(ax[1]))
            throw n.error("sequence_lens " + Ops.type(lens) + " must hold one length per batch entry of " + Ops.type(x));
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    /** {time axis, batch axis}. */
    static int[] axes(Node n) {
        return new int[] {(int) n.attrInt("time_axis", 0), (int) n.attrInt("batch_axis", 1)};
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0), lens = inputs.get(1);
        Shape s = x.shape();
        int[] ax = axes(n);
        int inner = (int) Ops.product(s.dims(), 2, s.rank());
        Tensor out = Tensor.zeros(x.dtype(), s);
        for (int e = 0; e < out.size(); e++) {
            int i1 = (e / inner) % s.dim(1), i0 = e / inner / s.dim(1), in = e % inner;
            int t = ax[0] == 0 ? i0 : i1, b = ax[0] == 0 ? i1 : i0;
            long len = lens.getLong(b);
            if (len < 0 || len > s.dim(ax[0])) throw n.error("sequence length " + len + " is out of range [0, " + s.dim(ax[0]) + "]");
            int src = t < len ? (int) (len - 1 - t) : t;
            int j0 = ax[0] == 0 ? src : b, j1 = ax[0] == 0 ? b : src;
            int from = (j0 * s.dim(1) + j1) * inner + in;
            if (x.dtype().isFloat()) out.setDouble(e, x.getDouble(from));
            else out.setLong(e, x.getLong(from));
        }
        return List.of(out);
    }
}
