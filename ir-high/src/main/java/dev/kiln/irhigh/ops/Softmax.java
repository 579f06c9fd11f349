package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Softmax and LogSoftmax, computed in double with the row maximum subtracted. From opset 13 they
 * act along one axis (default -1); before, the input is seen as 2-D [d0*...*d(axis-1),
 * d(axis)*...*d(r-1)] (default axis 1) and each row of that is normalized.
 */
final class Softmax implements OpDef {
    private final boolean log;

    private Softmax(boolean log) {
        this.log = log;
    }

    static final Softmax SOFTMAX = new Softmax(false), LOG_SOFTMAX = new Softmax(true);

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.requireFloat(n, x, 0, "input");
        axis(n, x.shape().rank());
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    private static int axis(Node n, int rank) {
        boolean legacy = n.opset() < 13;
        if (rank == 0) throw n.error("input is a scalar; " + n.op() + " needs rank 1 or more");
        return Ops.axis(n, n.attrInt("axis", legacy ? 1 : -1), rank, "attribute 'axis'");
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor xt = inputs.get(0);
        int[] d = xt.shape().dims();
        int axis = axis(n, d.length);
        int outer = (int) Ops.product(d, 0, axis), len, inner;
        if (n.opset() < 13) {
            len = (int) Ops.product(d, axis, d.length);
            inner = 1;
        } else {
            len = d[axis];
            inner = (int) Ops.product(d, axis + 1, d.length);
        }
        double[] x = TensorData.toDoubles(xt);
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * len * inner + i;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) max = Math.max(max, x[base + j * inner]);
                double sum = 0;
                for (int j = 0; j < len; j++) sum += Math.exp(x[base + j * inner] - max);
                double logSum = Math.log(sum);
                for (int j = 0; j < len; j++) {
                    int at = base + j * inner;
                    x[at] = log ? x[at] - max - logSum : Math.exp(x[at] - max) / sum;
                }
            }
        }
        return List.of(TensorData.fromDoubles(xt.dtype(), xt.shape(), x));
    }
}
