package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * ScatterElements (and its older name Scatter): a copy of data where, for every element of
 * updates, the element at the same position but with {@code indices} (same shape as updates) on
 * {@code axis} is replaced by it ({@code reduction} "none"; the last of duplicates wins) or
 * combined with it ("add", "mul", "max", "min"). Negative indices count from the end.
 */
final class ScatterElements implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 3, 3);
        Ops.requireOutputs(n, 1, 1);
        Value data = Ops.required(n, inputs, 0, "data"), idx = Ops.required(n, inputs, 1, "indices");
        Value upd = Ops.required(n, inputs, 2, "updates");
        Ops.requireInteger(n, idx, 1, "indices");
        Ops.requireSameDtype(n, data, 0, "data", upd, 2, "updates");
        if (!idx.shape().equals(upd.shape()))
            throw n.error("indices " + Ops.type(idx) + " and updates " + Ops.type(upd) + " must have the same shape");
        if (idx.shape().rank() != data.shape().rank())
            throw n.error("indices " + Ops.type(idx) + " should have the rank of data " + Ops.type(data));
        int a = Ops.axis(n, n.attrInt("axis", 0), data.shape().rank(), "attribute 'axis'");
        for (int d = 0; d < data.shape().rank(); d++)
            if (d != a && idx.shape().dim(d) > data.shape().dim(d))
                throw n.error("indices " + Ops.type(idx) + " is larger than data " + Ops.type(data) + " on axis " + d);
        reduction(n);
        return List.of(Ops.out(n, 0, data.dtype(), data.shape()));
    }

    static String reduction(Node n) {
        String r = n.attrString("reduction", "none");
        if (!List.of("none", "add", "mul", "max", "min").contains(r))
            throw n.error("reduction must be none, add, mul, max or min, got '" + r + "'");
        return r;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor data = inputs.get(0), idx = inputs.get(1), upd = inputs.get(2);
        Shape ds = data.shape(), is = idx.shape();
        int r = ds.rank(), a = Ops.axis(n, n.attrInt("axis", 0), r, "attribute 'axis'");
        String red = reduction(n);
        Tensor out = data.cast(data.dtype()); // a copy: tensors are immutable
        int[] c = new int[r];
        for (int e = 0; e < idx.size(); e++) {
            int dst = GatherElements.dataPosition(n, ds, is, a, idx, e, c);
            combine(red, out, dst, upd, e);
        }
        return List.of(out);
    }

    /** out[dst] = updates[src] combined with it by the reduction ("none": replaced). */
    static void combine(String red, Tensor out, int dst, Tensor upd, int src) {
        if (out.dtype().isFloat()) {
            double o = out.getDouble(dst), u = upd.getDouble(src);
            out.setDouble(dst, switch (red) {
                case "add" -> o + u;
                case "mul" -> o * u;
                case "max" -> Math.max(o, u);
                case "min" -> Math.min(o, u);
                default -> u;
            });
        } else {
            long o = out.getLong(dst), u = upd.getLong(src);
            boolean uns = out.dtype().isUnsigned();
            out.setLong(dst, switch (red) {
                case "add" -> o + u;
                case "mul" -> o * u;
                case "max" -> (uns ? Long.compareUnsigned(o, u) : Long.compare(o, u)) >= 0 ? o : u;
                case "min" -> (uns ? Long.compareUnsigned(o, u) : Long.compare(o, u)) <= 0 ? o : u;
                default -> u;
            });
        }
    }
}
