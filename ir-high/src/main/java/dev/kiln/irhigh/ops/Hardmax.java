package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Hardmax: 1 at the first maximum along {@code axis}, 0 elsewhere. From opset 13 the axis is one
 * axis (default -1); before, the input is seen as 2-D, [axes before axis, axes from it] (default 1).
 */
public final class Hardmax implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.requireNumeric(n, x, 0, "input");
        axis(n, x.shape().rank());
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    /** The axes [from, to) that each maximum is taken over. */
    public static int[] axes(Node n, int rank) {
        int a = axis(n, rank);
        return new int[] {a, n.opset() >= 13 ? a + 1 : rank};
    }

    private static int axis(Node n, int rank) {
        return Ops.axis(n, n.attrInt("axis", n.opset() >= 13 ? -1 : 1), rank, "attribute 'axis'");
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        int[] ax = axes(n, x.shape().rank());
        int[] d = x.shape().dims();
        int mid = (int) Ops.product(d, ax[0], ax[1]), inner = (int) Ops.product(d, ax[1], d.length);
        int outer = x.size() / Math.max(1, mid * inner);
        Tensor out = Tensor.zeros(x.dtype(), x.shape());
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                int best = 0;
                for (int m = 1; m < mid; m++)
                    if (x.getDouble((o * mid + m) * inner + i) > x.getDouble((o * mid + best) * inner + i)) best = m;
                if (mid > 0) out.setDouble((o * mid + best) * inner + i, 1);
            }
        return List.of(out);
    }
}
