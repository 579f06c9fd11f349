package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * CumSum along a compile-time constant {@code axis} input: inclusive by default, {@code exclusive=1}
 * leaves the element itself out, {@code reverse=1} sums from the end.
 */
final class CumSum implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "x");
        Ops.requireNumeric(n, x, 0, "x");
        Ops.axis(n, Ops.constLongs(n, consts, 1, "axis")[0], x.shape().rank(), "input 'axis'");
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        int r = x.shape().rank(), a = Ops.axis(n, Ops.constLongs(n, inputs, 1, "axis")[0], r, "input 'axis'");
        boolean exclusive = n.attrInt("exclusive", 0) != 0, reverse = n.attrInt("reverse", 0) != 0;
        int dim = x.shape().dim(a), inner = (int) Ops.product(x.shape().dims(), a + 1, r), outer = x.size() / Math.max(1, dim * inner);
        Tensor out = Tensor.zeros(x.dtype(), x.shape());
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                double acc = 0;
                for (int s = 0; s < dim; s++) {
                    int m = reverse ? dim - 1 - s : s, e = (o * dim + m) * inner + i;
                    if (exclusive) out.setDouble(e, acc);
                    acc += x.getDouble(e);
                    if (!exclusive) out.setDouble(e, acc);
                }
            }
        return List.of(out);
    }
}
