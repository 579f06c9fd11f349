package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Shape: the input's dimensions as a 1-D int64 tensor, optionally only those in [start, end)
 * (opset 15; negative values count from the end, out-of-range ones are clamped). Since every
 * shape is static, its value is known at compile time: {@link #of} computes it from the type.
 */
public final class ShapeOp implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        return List.of(Ops.out(n, 0, DType.INT64, of(n, x.shape()).shape()));
    }

    /** The node's output for an input of the given shape. */
    public static Tensor of(Node n, Shape s) {
        int r = s.rank();
        long start = n.attrInt("start", 0), end = n.attrInt("end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = Math.max(0, Math.min(r, start));
        end = Math.max(0, Math.min(r, end));
        long[] d = new long[(int) Math.max(0, end - start)];
        for (int i = 0; i < d.length; i++) d[i] = s.dim((int) start + i);
        return Tensor.ofLongs(new Shape(d.length), d);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        return List.of(of(n, inputs.get(0).shape()));
    }
}
