package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** EyeLike: ones on diagonal {@code k} of a matrix shaped like the input, in {@code dtype} (default: the input's). */
final class EyeLike implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.requireRank(n, x, 0, "input", 2);
        DType t = n.has("dtype") ? DType.fromOnnx((int) n.attrInt("dtype", 1)) : x.dtype();
        return List.of(Ops.out(n, 0, t, x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value out = Ops.inferFrom(this, n, inputs).get(0);
        long k = n.attrInt("k", 0);
        int rows = out.shape().dim(0), cols = out.shape().dim(1);
        Tensor r = Tensor.zeros(out.dtype(), out.shape());
        for (int i = 0; i < rows; i++) {
            long j = i + k;
            if (j >= 0 && j < cols) r.setDouble((int) (i * cols + j), 1);
        }
        return List.of(r);
    }
}
