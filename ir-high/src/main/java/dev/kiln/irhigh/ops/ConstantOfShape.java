package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/** ConstantOfShape: a tensor of the (constant) input shape filled with {@code value} (default float32 0). */
final class ConstantOfShape implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Ops.required(n, inputs, 0, "input");
        long[] spec = Ops.constLongs(n, consts, 0, "input");
        for (long v : spec) if (v < 0) throw n.error("shape " + Arrays.toString(spec) + " has a negative dimension");
        return List.of(Ops.out(n, 0, fill(n).dtype(), Shape.of(spec)));
    }

    private static Tensor fill(Node n) {
        Tensor v = n.attrTensor("value");
        if (v == null) return Tensor.ofFloats(Shape.SCALAR, 0f);
        if (v.size() != 1) throw n.error("attribute 'value' must have one element but has shape " + v.shape());
        return v;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value out = Ops.inferFrom(this, n, inputs).get(0);
        int[] zeros = new int[Math.toIntExact(out.shape().numel())];
        return List.of(TensorData.gather(fill(n).reshape(new Shape(1)), out.shape(), zeros, null));
    }
}
