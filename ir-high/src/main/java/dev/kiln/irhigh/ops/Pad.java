package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/**
 * Pad with mode constant, reflect (mirror without repeating the edge), edge (repeat the edge) or
 * wrap. Pads are [begin..., end...] per axis, negative to crop. Before opset 11 pads and value are
 * attributes; from 11 they are inputs (pads constant), and opset 18 adds an optional axes input.
 */
final class Pad implements OpDef {
    private record Plan(Shape out, int[] begin, String mode) {}

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        if (n.opset() >= 11) {
            Value cv = Ops.optional(inputs, 2);
            if (cv != null) {
                Ops.requireSameDtype(n, x, 0, "data", cv, 2, "constant_value");
                Ops.requireScalar(n, cv, 2, "constant_value");
            }
        }
        return List.of(Ops.out(n, 0, x.dtype(), plan(n, x.shape(), inputs, consts).out));
    }

    private static Plan plan(Node n, Shape in, List<Value> inputs, List<Tensor> consts) {
        int r = in.rank();
        long[] pads;
        int[] axes;
        if (n.opset() < 11) {
            Ops.requireInputs(n, 1, 1);
            pads = n.attrInts("pads", null);
            if (pads == null) throw n.error("missing required attribute 'pads'");
            axes = null;
        } else {
            Ops.requireInputs(n, 2, 4);
            Ops.required(n, inputs, 1, "pads");
            pads = Ops.constLongs(n, consts, 1, "pads");
            axes = Ops.optional(inputs, 3) == null ? null : Ops.axes(n, Ops.constLongs(n, consts, 3, "axes"), r, "axes");
        }
        if (axes == null) {
            axes = new int[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        if (pads.length != 2 * axes.length)
            throw n.error("pads " + Arrays.toString(pads) + " has " + pads.length + " values but needs " + 2 * axes.length
                    + " (begin and end for each of " + axes.length + " axes)");
        String mode = n.attrString("mode", "constant");
        if (!List.of("constant", "reflect", "edge", "wrap").contains(mode))
            throw n.error("mode '" + mode + "' is not supported (constant, reflect, edge, wrap)");
        int[] begin = new int[r];
        long[] out = in.longDims();
        for (int k = 0; k < axes.length; k++) {
            int a = axes[k];
            long b = pads[k], e = pads[k + axes.length];
            out[a] += b + e;
            if (out[a] < 0) throw n.error("pads " + Arrays.toString(pads) + " crop more than axis " + a + " of " + in + " holds");
            if (!mode.equals("constant") && in.dim(a) == 0 && out[a] > 0)
                throw n.error("cannot pad an empty axis " + a + " in mode '" + mode + "'");
            begin[a] = Math.toIntExact(b);
        }
        return new Plan(Shape.of(out), begin, mode);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor x = inputs.get(0);
        Plan p = plan(n, x.shape(), Ops.types(n, inputs), inputs);
        long[] strides = x.shape().strides();
        int[][] contrib = new int[x.shape().rank()][];
        for (int d = 0; d < contrib.length; d++) {
            int dim = x.shape().dim(d);
            contrib[d] = new int[p.out.dim(d)];
            for (int o = 0; o < contrib[d].length; o++) {
                int s = source(o - p.begin[d], dim, p.mode);
                contrib[d][o] = s < 0 ? -1 : (int) (s * strides[d]);
            }
        }
        Tensor fill;
        if (n.opset() < 11) fill = TensorData.fromDoubles(x.dtype(), Shape.SCALAR, new double[] {n.attrFloat("value", 0f)});
        else fill = Ops.constant(inputs, 2);
        return List.of(TensorData.gather(x, p.out, TensorData.axisMap(p.out, contrib), fill));
    }

    /** The input index read at (unpadded) position i of an axis of size dim; -1 for the fill value. */
    private static int source(int i, int dim, String mode) {
        if (i >= 0 && i < dim) return i;
        return switch (mode) {
            case "edge" -> i < 0 ? 0 : dim - 1;
            case "wrap" -> Math.floorMod(i, dim);
            case "reflect" -> {
                if (dim == 1) yield 0;
                int period = 2 * (dim - 1), m = Math.floorMod(i, period);
                yield m < dim ? m : period - m;
            }
            default -> -1;
        };
    }
}
