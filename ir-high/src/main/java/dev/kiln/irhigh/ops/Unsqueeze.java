package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Unsqueeze: inserts size-1 axes at {@code axes} (attribute before opset 13, input after), which
 * index the output, so negative ones count from the output's end.
 */
final class Unsqueeze implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        long[] axes;
        if (n.opset() < 13) {
            Ops.requireInputs(n, 1, 1);
            axes = n.attrInts("axes", null);
            if (axes == null) throw n.error("missing required attribute 'axes'");
        } else {
            Ops.requireInputs(n, 2, 2);
            axes = Ops.constLongs(n, consts, 1, "axes");
        }
        int rank = x.shape().rank() + axes.length;
        boolean[] inserted = new boolean[rank];
        for (int a : Ops.axes(n, axes, rank, "axes")) inserted[a] = true;
        int[] d = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) d[i] = inserted[i] ? 1 : x.shape().dim(j++);
        return List.of(Ops.out(n, 0, x.dtype(), new Shape(d)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        return List.of(inputs.get(0).reshape(Ops.inferFrom(this, n, inputs).get(0).shape()));
    }
}
