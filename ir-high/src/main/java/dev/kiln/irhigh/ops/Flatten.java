package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Flatten to 2-D: [product of dims before axis, product of the rest]; axis may equal the rank. */
final class Flatten implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        int r = x.shape().rank();
        long axis = n.attrInt("axis", 1);
        if (axis < -r || axis > r)
            throw n.error("attribute 'axis' is " + axis + " but the input " + x.shape() + " has rank " + r + " (valid: " + -r + ".." + r + ")");
        int a = (int) (axis < 0 ? axis + r : axis);
        int[] d = x.shape().dims();
        return List.of(Ops.out(n, 0, x.dtype(), Shape.of(Ops.product(d, 0, a), Ops.product(d, a, r))));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        return List.of(inputs.get(0).reshape(Ops.inferFrom(this, n, inputs).get(0).shape()));
    }
}
