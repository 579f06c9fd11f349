package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Identity: the output is the input. */
final class Identity implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        return List.of(inputs.get(0));
    }
}
