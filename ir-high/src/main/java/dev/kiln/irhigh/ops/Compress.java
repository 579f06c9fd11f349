package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * Compress: the slices along {@code axis} (the flattened input without one) whose condition is
 * true; a condition shorter than the axis counts as false past its end. The condition must be a
 * compile-time constant: it decides the output's shape.
 */
public final class Compress implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Value cond = Ops.required(n, inputs, 1, "condition");
        Ops.requireBool(n, cond, 1, "condition");
        Tensor c = Ops.constant(consts, 1);
        if (c == null)
            throw n.error(Ops.in(n, 1, "condition") + " must be a compile-time constant: Kiln compiles for static shapes, "
                    + "and it decides the output's shape (fold it, or fix the model's input shapes)");
        long[] kept = kept(n, x.shape(), c.toLongArray());
        long[] out;
        if (!n.has("axis")) out = new long[] {kept.length};
        else {
            out = x.shape().longDims();
            out[Ops.axis(n, n.attrInt("axis", 0), x.shape().rank(), "attribute 'axis'")] = kept.length;
        }
        return List.of(Ops.out(n, 0, x.dtype(), Shape.of(out)));
    }

    /** The positions along the axis (or in the flattened input) that are kept. */
    public static long[] kept(Node n, Shape x, long[] condition) {
        long len = n.has("axis") ? x.dim(Ops.axis(n, n.attrInt("axis", 0), x.rank(), "attribute 'axis'")) : x.numel();
        if (condition.length > len) throw n.error("condition has " + condition.length + " elements for an axis of " + len);
        List<Long> k = new ArrayList<>();
        for (int i = 0; i < condition.length; i++) if (condition[i] != 0) k.add((long) i);
        return k.stream().mapToLong(Long::longValue).toArray();
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape os = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor x = inputs.get(0);
        long[] kept = kept(n, x.shape(), inputs.get(1).toLongArray());
        int a = n.has("axis") ? Ops.axis(n, n.attrInt("axis", 0), x.shape().rank(), "attribute 'axis'") : 0;
        Shape xs = n.has("axis") ? x.shape() : new Shape(x.size());
        long inner = Ops.product(xs.dims(), a + 1, xs.rank()), len = xs.dim(a);
        Tensor out = Tensor.zeros(x.dtype(), os);
        for (int e = 0; e < out.size(); e++) {
            long in = e % inner, j = (e / inner) % kept.length, outer = e / inner / kept.length;
            int src = (int) ((outer * len + kept[(int) j]) * inner + in);
            if (x.dtype().isFloat()) out.setDouble(e, x.getDouble(src));
            else out.setLong(e, x.getLong(src));
        }
        return List.of(out);
    }
}
