package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** CastLike: Cast to the dtype of the second input (whose values are not read). */
final class CastLike implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input"), like = Ops.required(n, inputs, 1, "target_type");
        return List.of(Ops.out(n, 0, like.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        DType to = inputs.get(1).dtype();
        Tensor x = inputs.get(0);
        return List.of(x.dtype() == to ? x : x.cast(to));
    }
}
