package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * OneHot: a new axis of length {@code depth} (a compile-time constant: it is the output's shape)
 * inserted at {@code axis}; the element is values[1] where its position on that axis equals the
 * index, values[0] elsewhere. Negative indices count from depth; indices out of [-depth, depth)
 * give a row of values[0].
 */
final class OneHot implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 3, 3);
        Ops.requireOutputs(n, 1, 1);
        Value idx = Ops.required(n, inputs, 0, "indices"), values = Ops.required(n, inputs, 2, "values");
        Ops.required(n, inputs, 1, "depth");
        Ops.requireNumeric(n, idx, 0, "indices");
        if (values.shape().rank() != 1 || values.shape().dim(0) != 2)
            throw n.error(Ops.in(n, 2, "values") + " must hold 2 elements [off, on], got " + Ops.type(values));
        Tensor depthT = Ops.constant(consts, 1);
        if (depthT == null) throw n.error(Ops.in(n, 1, "depth") + " must be a compile-time constant: it is the output's shape");
        long depth = depth(n, depthT);
        if (depth < 1) throw n.error("depth must be positive, got " + depth);
        int r = idx.shape().rank(), a = Ops.axis(n, n.attrInt("axis", -1), r + 1, "attribute 'axis'");
        long[] out = new long[r + 1];
        for (int d = 0, s = 0; d <= r; d++) out[d] = d == a ? depth : idx.shape().dim(s++);
        return List.of(Ops.out(n, 0, values.dtype(), Shape.of(out)));
    }

    /** Depth may be any numeric type; a float depth is truncated, as onnx's reference does. */
    static long depth(Node n, Tensor t) {
        if (t.size() != 1) throw n.error("depth must have one element, got shape " + t.shape());
        return t.dtype().isFloat() ? (long) t.getDouble(0) : t.getLong(0);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape os = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor idx = inputs.get(0), values = inputs.get(2);
        long depth = depth(n, inputs.get(1));
        int a = Ops.axis(n, n.attrInt("axis", -1), os.rank(), "attribute 'axis'");
        long inner = 1;
        for (int d = a + 1; d < os.rank(); d++) inner *= os.dim(d);
        Tensor out = Tensor.zeros(values.dtype(), os);
        for (int e = 0; e < out.size(); e++) {
            long in = e % inner, pos = (e / inner) % depth, outer = e / inner / depth;
            double v = idx.dtype().isFloat() ? idx.getDouble((int) (outer * inner + in)) : idx.getLong((int) (outer * inner + in));
            long k = (long) v;
            if (k < 0) k += depth;
            int which = k == pos ? 1 : 0;
            if (values.dtype().isFloat()) out.setDouble(e, values.getDouble(which));
            else out.setLong(e, values.getLong(which));
        }
        return List.of(out);
    }
}
