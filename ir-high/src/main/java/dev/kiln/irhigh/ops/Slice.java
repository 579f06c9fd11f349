package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Slice: starts, ends, axes and steps are attributes before opset 10 and (constant) inputs from
 * opset 10. Negative indices count from the end; out-of-range indices are clamped, as in numpy.
 */
final class Slice implements OpDef {
    /** Per axis of the input: the first index read and the step. */
    private record Plan(Shape out, long[] start, long[] step) {}

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        return List.of(Ops.out(n, 0, x.dtype(), plan(n, x.shape(), inputs, consts).out));
    }

    private static Plan plan(Node n, Shape in, List<Value> inputs, List<Tensor> consts) {
        long[] starts, ends, axes, steps;
        if (n.opset() < 10) {
            Ops.requireInputs(n, 1, 1);
            starts = n.attrInts("starts", null);
            ends = n.attrInts("ends", null);
            if (starts == null || ends == null) throw n.error("missing required attribute 'starts' or 'ends'");
            axes = n.attrInts("axes", null);
            steps = null;
        } else {
            Ops.requireInputs(n, 3, 5);
            starts = Ops.constLongs(n, consts, 1, "starts");
            ends = Ops.constLongs(n, consts, 2, "ends");
            axes = Ops.optional(inputs, 3) == null ? null : Ops.constLongs(n, consts, 3, "axes");
            steps = Ops.optional(inputs, 4) == null ? null : Ops.constLongs(n, consts, 4, "steps");
        }
        int k = starts.length;
        if (ends.length != k || (axes != null && axes.length != k) || (steps != null && steps.length != k))
            throw n.error("starts, ends, axes and steps must have the same length; got " + k + ", " + ends.length
                    + (axes == null ? "" : ", " + axes.length) + (steps == null ? "" : ", " + steps.length));
        if (axes == null) {
            axes = new long[k];
            for (int i = 0; i < k; i++) axes[i] = i;
        }
        int[] ax = Ops.axes(n, axes, in.rank(), "axes");
        int[] out = in.dims();
        long[] start = new long[in.rank()], step = new long[in.rank()];
        java.util.Arrays.fill(step, 1);
        for (int i = 0; i < k; i++) {
            int a = ax[i];
            long dim = in.dim(a), st = steps == null ? 1 : steps[i], s = starts[i], e = ends[i];
            if (st == 0) throw n.error("step for axis " + a + " is 0");
            if (s < 0) s += dim;
            if (e < 0) e += dim;
            long len;
            if (st > 0) {
                s = clamp(s, 0, dim);
                e = clamp(e, 0, dim);
                len = e > s ? (e - s + st - 1) / st : 0;
            } else {
                s = clamp(s, 0, dim - 1);
                e = clamp(e, -1, dim - 1);
                len = s > e ? (s - e - st - 1) / -st : 0;
            }
            if (dim == 0) len = 0;
            out[a] = (int) len;
            start[a] = s;
            step[a] = st;
        }
        return new Plan(new Shape(out), start, step);
    }

    private static long clamp(long v, long lo, long hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor x = inputs.get(0);
        Plan p = plan(n, x.shape(), Ops.types(n, inputs), inputs);
        long[] strides = x.shape().strides();
        int[][] contrib = new int[x.shape().rank()][];
        for (int d = 0; d < contrib.length; d++) {
            contrib[d] = new int[p.out.dim(d)];
            for (int i = 0; i < contrib[d].length; i++) contrib[d][i] = (int) ((p.start[d] + i * p.step[d]) * strides[d]);
        }
        return List.of(TensorData.gather(x, p.out, TensorData.axisMap(p.out, contrib), null));
    }
}
