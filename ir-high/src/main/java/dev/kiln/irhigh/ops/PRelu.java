package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * PRelu: {@code x < 0 ? slope * x : x}, with the slope broadcast (numpy) to X. Before opset 7 a
 * 1-D slope holds one value per channel (X's axis 1), as PyTorch's exports of that time use it.
 */
public final class PRelu implements OpDef {

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X"), slope = Ops.required(n, inputs, 1, "slope");
        Ops.requireNumeric(n, x, 0, "X");
        Ops.requireSameDtype(n, x, 0, "X", slope, 1, "slope");
        Value aligned = new Value(slope.name(), slope.dtype(), slopeShape(n, x.shape(), slope.shape()));
        Shape out = Broadcast.of(n, java.util.Arrays.asList(x, aligned), "X", "slope");
        if (!out.equals(x.shape()))
            throw n.error("slope of shape " + slope.shape() + " does not broadcast to X's shape " + x.shape());
        return List.of(Ops.out(n, 0, x.dtype(), out));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor slope = inputs.get(1).reshape(slopeShape(n, inputs.get(0).shape(), inputs.get(1).shape()));
        return List.of(Elementwise.binary(inputs.get(0), slope, out, inputs.get(0).dtype(),
                (x, s) -> x < 0 ? s * x : x, (x, s) -> x < 0 ? s * x : x));
    }

    /** The slope's shape for broadcasting: [C] becomes [1, C, 1, ...] before opset 7. */
    public static Shape slopeShape(Node n, Shape x, Shape slope) {
        if (n.opset() >= 7 || slope.rank() != 1 || x.rank() < 2 || slope.dim(0) != x.dim(1) || slope.dim(0) == 1) return slope;
        int[] d = new int[x.rank()];
        java.util.Arrays.fill(d, 1);
        d[1] = slope.dim(0);
        return new Shape(d);
    }
}
