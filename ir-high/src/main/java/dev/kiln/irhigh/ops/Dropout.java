package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * Dropout at inference: the output is the input and the optional mask is all true (bool from
 * opset 10, the input's dtype before). Training mode (opset 12's {@code training_mode} input) is
 * refused, since Kiln compiles for inference.
 */
final class Dropout implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 2);
        Ops.requireInputs(n, 1, n.opset() >= 12 ? 3 : 1);
        Value x = Ops.required(n, inputs, 0, "data");
        if (Ops.optional(inputs, 2) != null) {
            Tensor mode = Ops.constant(consts, 2);
            if (mode == null)
                throw n.error(Ops.in(n, 2, "training_mode") + " is not a compile-time constant; Kiln compiles for inference, so it must be false");
            if (mode.size() != 1 || mode.getLong(0) != 0)
                throw n.error("training_mode is true; Kiln compiles for inference only (export the model in eval mode)");
        }
        List<Value> out = new ArrayList<>();
        out.add(Ops.out(n, 0, x.dtype(), x.shape()));
        if (n.outputs().size() > 1) out.add(Ops.out(n, 1, n.opset() >= 10 ? DType.BOOL : x.dtype(), x.shape()));
        return out;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        List<Tensor> out = new ArrayList<>();
        out.add(inputs.get(0));
        if (types.size() > 1) {
            Value m = types.get(1);
            out.add(Tensor.generate(m.dtype(), m.shape(), i -> 1));
        }
        return out;
    }
}
