package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/**
 * Reshape to a constant shape (an attribute before opset 5, an input after). In the shape, 0
 * copies the input's dimension at that position (unless {@code allowzero=1}, opset 14) and one
 * -1 takes whatever size makes the element counts match.
 */
final class Reshape implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        long[] spec;
        if (n.opset() < 5) {
            spec = n.attrInts("shape", null);
            if (spec == null) throw n.error("missing required attribute 'shape'");
        } else {
            Ops.requireInputs(n, 2, 2);
            Value s = Ops.required(n, inputs, 1, "shape");
            if (s.shape().rank() != 1) throw n.error(Ops.in(n, 1, "shape") + " has shape " + s.shape() + " but must be 1-D");
            spec = Ops.constLongs(n, consts, 1, "shape");
        }
        return List.of(Ops.out(n, 0, x.dtype(), resolve(n, x.shape(), spec, n.attrInt("allowzero", 0) != 0)));
    }

    static Shape resolve(Node n, Shape in, long[] spec, boolean allowZero) {
        long[] d = spec.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) throw n.error("shape " + Arrays.toString(spec) + " has more than one -1");
                infer = i;
                continue;
            }
            if (d[i] < -1) throw n.error("shape " + Arrays.toString(spec) + " has an invalid dimension " + d[i]);
            if (d[i] == 0 && !allowZero) {
                if (i >= in.rank())
                    throw n.error("shape " + Arrays.toString(spec) + " has 0 (copy the input dimension) at position " + i
                            + " but the input " + in + " has rank " + in.rank());
                d[i] = in.dim(i);
            }
            known *= d[i];
        }
        if (infer >= 0) {
            if (known == 0 || in.numel() % known != 0)
                throw n.error("cannot reshape " + in + " (" + in.numel() + " elements) to " + Arrays.toString(spec)
                        + ": the other dimensions' product " + known + " does not divide it");
            d[infer] = in.numel() / known;
        } else if (known != in.numel()) {
            throw n.error("cannot reshape " + in + " (" + in.numel() + " elements) to " + Arrays.toString(spec)
                    + " (" + known + " elements)");
        }
        return Shape.of(d);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        return List.of(inputs.get(0).reshape(Ops.inferFrom(this, n, inputs).get(0).shape()));
    }
}
