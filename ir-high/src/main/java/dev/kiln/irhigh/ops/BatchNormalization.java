package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * BatchNormalization in inference mode: Y = (X - mean) / sqrt(var + epsilon) * scale + B per
 * channel (axis 1), computed in double. Training mode and its extra outputs are refused.
 */
final class BatchNormalization implements OpDef {
    private static final String[] ROLES = {"X", "scale", "B", "input_mean", "input_var"};

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 5, 5);
        Value x = Ops.required(n, inputs, 0, "X");
        Ops.requireFloat(n, x, 0, "X");
        Ops.requireRankAtLeast(n, x, 0, "X", 2);
        if (n.attrInt("training_mode", 0) != 0)
            throw n.error("training_mode=1 is not supported; Kiln compiles for inference (export the model in eval mode)");
        if (n.opset() < 9 && n.attrInt("spatial", 1) == 0)
            throw n.error("spatial=0 (per-activation statistics) is not supported");
        for (int i = 1; i < n.outputs().size(); i++)
            if (!n.output(i).isEmpty())
                throw n.error("output " + i + " ('" + n.output(i) + "') is a training-mode statistic; Kiln compiles for inference only");
        Shape perChannel = new Shape(x.shape().dim(1));
        for (int i = 1; i < 5; i++) {
            Value v = Ops.required(n, inputs, i, ROLES[i]);
            Ops.requireFloat(n, v, i, ROLES[i]);
            if (!v.shape().equals(perChannel))
                throw n.error(Ops.in(n, i, ROLES[i]) + " has shape " + v.shape() + " but X " + x.shape() + " needs " + perChannel);
        }
        List<Value> out = new java.util.ArrayList<>();
        out.add(Ops.out(n, 0, x.dtype(), x.shape()));
        for (int i = 1; i < n.outputs().size(); i++) out.add(Ops.out(n, i, x.dtype(), perChannel));
        return out;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Tensor xt = inputs.get(0);
        double[] x = TensorData.toDoubles(xt), scale = TensorData.toDoubles(inputs.get(1)), bias = TensorData.toDoubles(inputs.get(2)),
                mean = TensorData.toDoubles(inputs.get(3)), var = TensorData.toDoubles(inputs.get(4));
        double eps = n.attrFloat("epsilon", 1e-5f);
        int c = xt.shape().dim(1), inner = (int) (xt.shape().numel() / Math.max(1, (long) xt.shape().dim(0) * c));
        double[] sd = new double[c];
        for (int ch = 0; ch < c; ch++) sd[ch] = Math.sqrt(var[ch] + eps);
        for (int i = 0; i < x.length; i++) {
            int ch = i / inner % c;
            x[i] = (x[i] - mean[ch]) / sd[ch] * scale[ch] + bias[ch];
        }
        List<Tensor> out = new java.util.ArrayList<>();
        out.add(TensorData.fromDoubles(xt.dtype(), xt.shape(), x));
        while (out.size() < types.size()) out.add(null);
        return out;
    }
}
