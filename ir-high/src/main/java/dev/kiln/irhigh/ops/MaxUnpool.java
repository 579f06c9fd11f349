package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * MaxUnpool as ONNX Runtime computes it: a zero tensor with each input element written at its
 * index, a flat index into the output. The output shape is {@code output_shape} (input 2, a
 * compile-time constant) or the unpooled shape {@code (in - 1) * stride + kernel - pad_begin -
 * pad_end} per spatial axis. An index outside the output writes nothing. (The ONNX reference
 * instead keeps each element's coordinates in the unpooled shape when {@code output_shape} is
 * larger; the two agree without it.)
 */
public final class MaxUnpool implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 3);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X"), idx = Ops.required(n, inputs, 1, "I");
        Ops.requireRankAtLeast(n, x, 0, "X", 3);
        Ops.requireInteger(n, idx, 1, "I");
        if (!idx.shape().equals(x.shape())) throw n.error(Ops.in(n, 1, "I") + " must have X's shape " + x.shape() + ", got " + idx.shape());
        int spatial = x.shape().rank() - 2;
        long[] kernel = n.attrInts("kernel_shape", null);
        if (kernel == null || kernel.length != spatial) throw n.error("attribute kernel_shape must give " + spatial + " sizes");
        long[] strides = n.attrInts("strides", ones(spatial)), pads = n.attrInts("pads", new long[2 * spatial]);
        if (strides.length != spatial || pads.length != 2 * spatial)
            throw n.error("attributes strides and pads must give " + spatial + " and " + 2 * spatial + " values");
        long[] out = unpooled(n, x.shape().longDims());
        if (Ops.optional(inputs, 2) != null) {
            long[] given = Ops.constLongs(n, consts, 2, "output_shape");
            if (given.length != out.length) throw n.error(Ops.in(n, 2, "output_shape") + " must give " + out.length + " sizes, got " + given.length);
            if (given[0] != out[0] || given[1] != out[1])
                throw n.error(Ops.in(n, 2, "output_shape") + " must keep X's batch and channels " + out[0] + ", " + out[1]);
            out = given;
        }
        for (long d : out) if (d <= 0) throw n.error("gives an empty output shape " + Shape.of(out));
        return List.of(Ops.out(n, 0, x.dtype(), Shape.of(out)));
    }

    /** The unpooled shape: {@code x}'s batch and channels, each spatial axis as MaxPool had it before pooling. */
    private static long[] unpooled(Node n, long[] x) {
        int spatial = x.length - 2;
        long[] kernel = n.attrInts("kernel_shape", new long[spatial]);
        long[] strides = n.attrInts("strides", ones(spatial)), pads = n.attrInts("pads", new long[2 * spatial]);
        long[] out = x.clone();
        for (int d = 0; d < spatial; d++) out[d + 2] = (x[d + 2] - 1) * strides[d] + kernel[d] - pads[d] - pads[d + spatial];
        return out;
    }

    private static long[] ones(int k) {
        long[] r = new long[k];
        java.util.Arrays.fill(r, 1);
        return r;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor x = inputs.get(0), idx = inputs.get(1);
        Tensor out = Tensor.zeros(x.dtype(), Ops.inferFrom(this, n, inputs).get(0).shape());
        for (int j = 0; j < x.size(); j++) {
            long at = idx.getLong(j);
            if (at < 0 || at >= out.size()) continue;
            if (x.dtype().isFloat()) out.setDouble((int) at, x.getDouble(j));
            else out.setLong((int) at, x.getLong(j));
        }
        return List.of(out);
    }
}
