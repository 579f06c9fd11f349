package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Size: the input's element count, an int64 scalar known at compile time ({@link #of}). */
public final class Size implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Ops.required(n, inputs, 0, "data");
        return List.of(Ops.out(n, 0, DType.INT64, Shape.SCALAR));
    }

    public static Tensor of(Shape s) {
        return Tensor.ofLongs(Shape.SCALAR, s.numel());
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        return List.of(of(inputs.get(0).shape()));
    }
}
