package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * ArgMax and ArgMin along {@code axis}: int64 indices of the first extreme element, or of the
 * last with {@code select_last_index=1}; {@code keepdims} keeps the axis with extent 1.
 */
final class ArgMinMax implements OpDef {
    private final boolean max;

    private ArgMinMax(boolean max) {
        this.max = max;
    }

    static final ArgMinMax ARG_MAX = new ArgMinMax(true), ARG_MIN = new ArgMinMax(false);

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        Ops.requireNumeric(n, x, 0, "data");
        int r = x.shape().rank();
        int a = Ops.axis(n, n.attrInt("axis", 0), r, "attribute 'axis'");
        boolean keep = n.attrInt("keepdims", 1) != 0;
        int[] d = new int[keep ? r : r - 1];
        for (int i = 0, k = 0; i < r; i++) {
            if (i != a) d[k++] = x.shape().dim(i);
            else if (keep) d[k++] = 1;
        }
        return List.of(Ops.out(n, 0, DType.INT64, new Shape(d)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor x = inputs.get(0);
        int r = x.shape().rank();
        int a = Ops.axis(n, n.attrInt("axis", 0), r, "attribute 'axis'");
        boolean last = n.attrInt("select_last_index", 0) != 0;
        int dim = x.shape().dim(a), inner = (int) Ops.product(x.shape().dims(), a + 1, r);
        int outer = (int) Ops.product(x.shape().dims(), 0, a);
        long[] idx = new long[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                int best = 0;
                double bv = x.getDouble(o * dim * inner + i);
                for (int m = 1; m < dim; m++) {
                    double v = x.getDouble((o * dim + m) * inner + i);
                    boolean better = max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
                    if (better) {
                        best = m;
                        bv = v;
                    }
                }
                idx[o * inner + i] = best;
            }
        return List.of(Tensor.of(DType.INT64, out, idx));
    }
}
