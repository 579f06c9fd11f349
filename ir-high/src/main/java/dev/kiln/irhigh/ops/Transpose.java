package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/** Transpose by {@code perm} (output axis i is input axis perm[i]); no perm reverses the axes. */
final class Transpose implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        int[] perm = perm(n, x.shape().rank());
        int[] d = new int[perm.length];
        for (int i = 0; i < perm.length; i++) d[i] = x.shape().dim(perm[i]);
        return List.of(Ops.out(n, 0, x.dtype(), new Shape(d)));
    }

    static int[] perm(Node n, int rank) {
        long[] p = n.attrInts("perm", null);
        int[] perm = new int[rank];
        if (p == null) {
            for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
            return perm;
        }
        boolean[] seen = new boolean[rank];
        boolean ok = p.length == rank;
        for (int i = 0; ok && i < rank; i++) {
            ok = p[i] >= 0 && p[i] < rank && !seen[(int) p[i]];
            if (ok) seen[(int) (perm[i] = (int) p[i])] = true;
        }
        if (!ok) throw n.error("attribute 'perm' " + Arrays.toString(p) + " is not a permutation of 0.." + (rank - 1));
        return perm;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor x = inputs.get(0);
        int[] perm = perm(n, x.shape().rank());
        long[] strides = x.shape().strides();
        int[][] contrib = new int[perm.length][];
        for (int d = 0; d < perm.length; d++) {
            contrib[d] = new int[out.dim(d)];
            for (int i = 0; i < contrib[d].length; i++) contrib[d][i] = (int) (i * strides[perm[d]]);
        }
        return List.of(TensorData.gather(x, out, TensorData.axisMap(out, contrib), null));
    }
}
