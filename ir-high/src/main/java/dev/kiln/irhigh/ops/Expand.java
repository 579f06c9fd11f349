package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/** Expand: broadcasts the input with a constant shape (numpy rules, in both directions). */
final class Expand implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.required(n, inputs, 1, "shape");
        long[] spec = Ops.constLongs(n, consts, 1, "shape");
        for (long v : spec) if (v < 0) throw n.error("shape " + Arrays.toString(spec) + " has a negative dimension");
        Shape out = Broadcast.of(x.shape(), Shape.of(spec));
        if (out == null)
            throw n.error(Ops.in(n, 0, "input") + " has shape " + x.shape() + ", which does not broadcast with the shape "
                    + Arrays.toString(spec) + " (numpy rules)");
        return List.of(Ops.out(n, 0, x.dtype(), out));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor x = inputs.get(0);
        return List.of(TensorData.gather(x, out, TensorData.broadcastMap(x.shape(), out), null));
    }
}
