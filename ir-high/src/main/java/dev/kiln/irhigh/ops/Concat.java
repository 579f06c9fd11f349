package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Concat along {@code axis} (required from opset 4; negative from opset 11). */
final class Concat implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        if (inputs.isEmpty()) throw n.error("Concat needs at least one input");
        Value first = Ops.required(n, inputs, 0, "inputs_0");
        if (first.shape().rank() == 0) throw n.error(Ops.in(n, 0, "inputs_0") + " is a scalar; Concat needs rank 1 or more");
        if (!n.has("axis") && n.opset() >= 4) throw n.error("missing required attribute 'axis'");
        int axis = Ops.axis(n, n.attrInt("axis", 1), first.shape().rank(), "attribute 'axis'");
        int[] out = first.shape().dims();
        for (int i = 1; i < inputs.size(); i++) {
            String role = "inputs_" + i;
            Value v = Ops.required(n, inputs, i, role);
            Ops.requireSameDtype(n, first, 0, "inputs_0", v, i, role);
            boolean ok = v.shape().rank() == out.length;
            for (int d = 0; ok && d < out.length; d++) ok = d == axis || v.shape().dim(d) == out[d];
            if (!ok)
                throw n.error(Ops.in(n, i, role) + " has shape " + v.shape() + " but " + Ops.in(n, 0, "inputs_0")
                        + " has shape " + first.shape() + "; Concat on axis " + axis + " needs every other dimension equal");
            out[axis] += v.shape().dim(axis);
        }
        return List.of(Ops.out(n, 0, first.dtype(), new Shape(out)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape outShape = Ops.inferFrom(this, n, inputs).get(0).shape();
        int axis = Ops.axis(n, n.attrInt("axis", 1), outShape.rank(), "attribute 'axis'");
        int[] dims = outShape.dims();
        int outer = (int) Ops.product(dims, 0, axis), inner = (int) Ops.product(dims, axis + 1, dims.length);
        Tensor out = Tensor.zeros(inputs.get(0).dtype(), outShape);
        Object dst = TensorData.storage(out);
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (Tensor t : inputs) {
                int chunk = t.shape().dim(axis) * inner;
                System.arraycopy(TensorData.storage(t), o * chunk, dst, pos, chunk);
                pos += chunk;
            }
        }
        return List.of(out);
    }

    /** The elements of a and b (same dtype) one after the other, as a 1-D tensor. */
    static Tensor flat(Tensor a, Tensor b) {
        DType t = a.dtype();
        Tensor out = Tensor.zeros(t, new Shape(a.size() + b.size()));
        System.arraycopy(TensorData.storage(a), 0, TensorData.storage(out), 0, a.size());
        System.arraycopy(TensorData.storage(b), 0, TensorData.storage(out), a.size(), b.size());
        return out;
    }
}
