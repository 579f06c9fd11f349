package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * LayerNormalization (opset 17): each row over axes [axis, rank) is normalized with its mean and
 * (biased) variance, then scaled by Scale and shifted by the optional B, both broadcast to those
 * axes. Optional outputs Mean and InvStdDev (dtype from {@code stash_type}, float32 by default)
 * have X's shape with the normalized axes set to 1.
 */
final class LayerNormalization implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 3);
        Ops.requireOutputs(n, 1, 3);
        Value x = Ops.required(n, inputs, 0, "X"), scale = Ops.required(n, inputs, 1, "Scale"), b = Ops.optional(inputs, 2);
        Ops.requireFloat(n, x, 0, "X");
        int r = x.shape().rank(), axis = Ops.axis(n, n.attrInt("axis", -1), r, "attribute 'axis'");
        Shape norm = new Shape(Arrays.copyOfRange(x.shape().dims(), axis, r));
        Ops.requireSameDtype(n, x, 0, "X", scale, 1, "Scale");
        check(n, scale, 1, "Scale", norm);
        if (b != null) {
            Ops.requireSameDtype(n, x, 0, "X", b, 2, "B");
            check(n, b, 2, "B", norm);
        }
        int[] statDims = x.shape().dims();
        for (int i = axis; i < r; i++) statDims[i] = 1;
        DType stash = DType.fromOnnx((int) n.attrInt("stash_type", 1));
        List<Value> out = new ArrayList<>();
        out.add(Ops.out(n, 0, x.dtype(), x.shape()));
        for (int i = 1; i < n.outputs().size(); i++) out.add(Ops.out(n, i, stash, new Shape(statDims)));
        return out;
    }

    private static void check(Node n, Value v, int i, String role, Shape norm) {
        if (!Broadcast.unidirectional(v.shape(), norm))
            throw n.error(Ops.in(n, i, role) + " has shape " + v.shape() + ", which does not broadcast to the normalized shape " + norm);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Tensor xt = inputs.get(0), st = inputs.get(1), bt = Ops.constant(inputs, 2);
        int r = xt.shape().rank(), axis = Ops.axis(n, n.attrInt("axis", -1), r, "attribute 'axis'");
        Shape norm = new Shape(Arrays.copyOfRange(xt.shape().dims(), axis, r));
        int inner = Math.toIntExact(norm.numel()), rows = inner == 0 ? 0 : xt.size() / inner;
        double[] x = TensorData.toDoubles(xt), s = TensorData.toDoubles(st), b = bt == null ? null : TensorData.toDoubles(bt);
        int[] sm = TensorData.broadcastMap(st.shape(), norm), bm = bt == null ? null : TensorData.broadcastMap(bt.shape(), norm);
        double eps = n.attrFloat("epsilon", 1e-5f);
        double[] means = new double[rows], invStd = new double[rows];
        for (int row = 0; row < rows; row++) {
            int o = row * inner;
            double sum = 0;
            for (int j = 0; j < inner; j++) sum += x[o + j];
            double mean = sum / inner, sq = 0;
            for (int j = 0; j < inner; j++) sq += (x[o + j] - mean) * (x[o + j] - mean);
            double inv = 1 / Math.sqrt(sq / inner + eps);
            for (int j = 0; j < inner; j++) {
                double v = (x[o + j] - mean) * inv * s[TensorData.at(sm, j)];
                x[o + j] = b == null ? v : v + b[TensorData.at(bm, j)];
            }
            means[row] = mean;
            invStd[row] = inv;
        }
        List<Tensor> out = new ArrayList<>();
        out.add(TensorData.fromDoubles(xt.dtype(), xt.shape(), x));
        if (types.size() > 1) out.add(TensorData.fromDoubles(types.get(1).dtype(), types.get(1).shape(), means));
        if (types.size() > 2) out.add(TensorData.fromDoubles(types.get(2).dtype(), types.get(2).shape(), invStd));
        return out;
    }
}
