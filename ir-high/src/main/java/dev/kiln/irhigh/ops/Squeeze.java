package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/** Squeeze: removes the size-1 axes named by {@code axes} (attribute before opset 13, input after), or all of them. */
final class Squeeze implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        long[] axes;
        if (n.opset() < 13) {
            Ops.requireInputs(n, 1, 1);
            axes = n.attrInts("axes", null);
        } else {
            Ops.requireInputs(n, 1, 2);
            axes = Ops.optional(inputs, 1) == null ? null : Ops.constLongs(n, consts, 1, "axes");
        }
        Shape in = x.shape();
        boolean[] drop = new boolean[in.rank()];
        if (axes == null) {
            for (int d = 0; d < in.rank(); d++) drop[d] = in.dim(d) == 1;
        } else {
            for (int a : Ops.axes(n, axes, in.rank(), "axes")) {
                if (in.dim(a) != 1) throw n.error("cannot squeeze axis " + a + " of " + Ops.in(n, 0, "data") + " with shape " + in + ": its size is not 1");
                drop[a] = true;
            }
        }
        List<Integer> d = new ArrayList<>();
        for (int i = 0; i < in.rank(); i++) if (!drop[i]) d.add(in.dim(i));
        return List.of(Ops.out(n, 0, x.dtype(), new Shape(d.stream().mapToInt(Integer::intValue).toArray())));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        return List.of(inputs.get(0).reshape(Ops.inferFrom(this, n, inputs).get(0).shape()));
    }
}
