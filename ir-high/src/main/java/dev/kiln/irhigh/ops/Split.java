package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Split along {@code axis} into the node's outputs. Sizes come from the {@code split} attribute
 * (opset &lt; 13) or input (opset 13+); without them the axis is split evenly, or (opset 18
 * {@code num_outputs}) into equal chunks with a smaller last one.
 */
final class Split implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Value x = Ops.required(n, inputs, 0, "input");
        int axis = Ops.axis(n, n.attrInt("axis", 0), x.shape().rank(), "attribute 'axis'");
        int[] sizes = sizes(n, x.shape().dim(axis), inputs, consts);
        List<Value> out = new ArrayList<>();
        for (int k = 0; k < sizes.length; k++) {
            int[] d = x.shape().dims();
            d[axis] = sizes[k];
            out.add(Ops.out(n, k, x.dtype(), new Shape(d)));
        }
        return out;
    }

    private static int[] sizes(Node n, int dim, List<Value> inputs, List<Tensor> consts) {
        int outs = n.outputs().size();
        if (outs == 0) throw n.error("Split has no outputs");
        long[] split = null;
        if (n.opset() < 13) split = n.attrInts("split", null);
        else if (Ops.optional(inputs, 1) != null) split = Ops.constLongs(n, consts, 1, "split");
        if (split != null && split.length > 0) {
            if (split.length != outs)
                throw n.error("'split' has " + split.length + " sizes " + Arrays.toString(split) + " but the node has " + outs + " outputs");
            long sum = 0;
            for (long s : split) {
                if (s < 0) throw n.error("'split' has a negative size: " + Arrays.toString(split));
                sum += s;
            }
            if (sum != dim) throw n.error("'split' sizes " + Arrays.toString(split) + " add up to " + sum + " but the axis has " + dim + " elements");
            return Ops.toInts(n, split, "'split'");
        }
        int[] r = new int[outs];
        if (n.has("num_outputs")) {
            long k = n.attrInt("num_outputs", outs);
            if (k != outs) throw n.error("attribute num_outputs is " + k + " but the node has " + outs + " outputs");
            int chunk = (dim + outs - 1) / outs;
            for (int i = 0; i < outs; i++) r[i] = Math.max(0, Math.min(chunk, dim - chunk * i));
            return r;
        }
        if (dim % outs != 0)
            throw n.error("the axis has " + dim + " elements, which do not split evenly into " + outs + " outputs (give 'split' sizes)");
        Arrays.fill(r, dim / outs);
        return r;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        int axis = Ops.axis(n, n.attrInt("axis", 0), x.shape().rank(), "attribute 'axis'");
        int[] dims = x.shape().dims();
        int outer = (int) Ops.product(dims, 0, axis), inner = (int) Ops.product(dims, axis + 1, dims.length);
        Object src = TensorData.storage(x);
        List<Tensor> out = new ArrayList<>();
        int offset = 0;
        for (Value v : types) {
            Tensor t = Tensor.zeros(x.dtype(), v.shape());
            int chunk = v.shape().dim(axis) * inner;
            for (int o = 0; o < outer; o++)
                System.arraycopy(src, o * dims[axis] * inner + offset, TensorData.storage(t), o * chunk, chunk);
            offset += chunk;
            out.add(t);
        }
        return out;
    }
}
