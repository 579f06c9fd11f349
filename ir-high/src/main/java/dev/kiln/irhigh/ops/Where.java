package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Where(condition, X, Y): X where condition is true, else Y; all three broadcast together. */
final class Where implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 3, 3);
        Ops.requireOutputs(n, 1, 1);
        Value c = Ops.required(n, inputs, 0, "condition"), x = Ops.required(n, inputs, 1, "X"), y = Ops.required(n, inputs, 2, "Y");
        Ops.requireBool(n, c, 0, "condition");
        Ops.requireSameDtype(n, x, 1, "X", y, 2, "Y");
        return List.of(Ops.out(n, 0, x.dtype(), Broadcast.of(n, inputs, "condition", "X", "Y")));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor c = inputs.get(0), x = inputs.get(1), y = inputs.get(2);
        int[] mc = TensorData.broadcastMap(c.shape(), out), mx = TensorData.broadcastMap(x.shape(), out),
                my = TensorData.broadcastMap(y.shape(), out);
        long[] cond = c.longs();
        int size = Math.toIntExact(out.numel());
        // Read X and Y through one gather over their concatenation: index >= x.size() reads Y.
        int[] map = new int[size];
        for (int i = 0; i < size; i++)
            map[i] = cond[TensorData.at(mc, i)] != 0 ? TensorData.at(mx, i) : x.size() + TensorData.at(my, i);
        Tensor both = Concat.flat(x, y);
        return List.of(TensorData.gather(both, out, map, null));
    }
}
