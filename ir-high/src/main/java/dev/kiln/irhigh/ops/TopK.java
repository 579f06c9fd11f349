package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * TopK: the k largest ({@code largest=1}) or smallest elements along {@code axis}, with their
 * int64 positions. k (input 1) must be a compile-time constant: it is the outputs' shape. The
 * result is always sorted (best first; ties: lower position first), which is also a valid
 * answer for {@code sorted=0}.
 */
final class TopK implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 2, 2);
        Value x = Ops.required(n, inputs, 0, "X");
        Ops.requireNumeric(n, x, 0, "X");
        Ops.requireRankAtLeast(n, x, 0, "X", 1);
        long[] k = Ops.constLongs(n, consts, 1, "K");
        if (k.length != 1) throw n.error(Ops.in(n, 1, "K") + " must hold one value, got " + k.length);
        int a = Ops.axis(n, n.attrInt("axis", -1), x.shape().rank(), "attribute 'axis'");
        if (k[0] < 0 || k[0] > x.shape().dim(a))
            throw n.error("k = " + k[0] + " is out of range for axis " + a + " of extent " + x.shape().dim(a));
        long[] out = x.shape().longDims();
        out[a] = k[0];
        return List.of(Ops.out(n, 0, x.dtype(), Shape.of(out)), Ops.out(n, 1, DType.INT64, Shape.of(out)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        Shape xs = x.shape(), os = types.get(0).shape();
        int a = Ops.axis(n, n.attrInt("axis", -1), xs.rank(), "attribute 'axis'");
        boolean largest = n.attrInt("largest", 1) != 0;
        int len = xs.dim(a), k = os.dim(a), inner = (int) Ops.product(xs.dims(), a + 1, xs.rank());
        int outer = (int) Ops.product(xs.dims(), 0, a);
        Tensor values = Tensor.zeros(x.dtype(), os), indices = Tensor.zeros(DType.INT64, os);
        double[] v = TensorData.toDoubles(x);
        for (int o = 0; o < outer; o++)
            for (int in = 0; in < inner; in++) {
                int base = o * len * inner + in;
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < len; i++) order.add(i);
                order.sort((p, q) -> {
                    int c = Double.compare(v[base + p * inner], v[base + q * inner]);
                    if (largest) c = -c;
                    return c != 0 ? c : Integer.compare(p, q);
                });
                for (int j = 0; j < k; j++) {
                    int src = base + order.get(j) * inner, dst = (o * k + j) * inner + in;
                    if (x.dtype().isFloat()) values.setDouble(dst, x.getDouble(src));
                    else values.setLong(dst, x.getLong(src));
                    indices.setLong(dst, order.get(j));
                }
            }
        return List.of(values, indices);
    }
}
