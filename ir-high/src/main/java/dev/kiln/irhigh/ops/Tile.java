package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/** Tile: repeats the input {@code repeats[d]} times along each axis d. */
final class Tile implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.required(n, inputs, 1, "repeats");
        long[] rep = Ops.constLongs(n, consts, 1, "repeats");
        if (rep.length != x.shape().rank())
            throw n.error("repeats " + Arrays.toString(rep) + " has " + rep.length + " values but the input " + x.shape() + " has rank " + x.shape().rank());
        long[] d = x.shape().longDims();
        for (int i = 0; i < d.length; i++) {
            if (rep[i] < 0) throw n.error("repeats " + Arrays.toString(rep) + " has a negative value");
            d[i] *= rep[i];
        }
        return List.of(Ops.out(n, 0, x.dtype(), Shape.of(d)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor x = inputs.get(0);
        long[] strides = x.shape().strides();
        int[][] contrib = new int[out.rank()][];
        for (int d = 0; d < out.rank(); d++) {
            contrib[d] = new int[out.dim(d)];
            for (int i = 0; i < contrib[d].length; i++) contrib[d][i] = (int) (i % x.shape().dim(d) * strides[d]);
        }
        return List.of(TensorData.gather(x, out, TensorData.axisMap(out, contrib), null));
    }
}
