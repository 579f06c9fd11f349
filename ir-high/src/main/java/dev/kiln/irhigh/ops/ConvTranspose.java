package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * ConvTranspose (1-D, 2-D or 3-D): X [N, C, in...] with weights W [C, M/group, kernel...] and
 * optional bias B [M]. Input element i of a spatial axis scatters into output position
 * {@code i*stride + k*dilation - padBegin} for each tap k; positions outside the output are
 * dropped. Each output element is the double-precision sum of what lands on it, plus the bias.
 */
public final class ConvTranspose implements OpDef {
    /**
     * The spatial geometry: per axis the input size, kernel, stride, dilation, the padding cut
     * from the output's beginning and the output size (pads at the end are implied by it).
     */
    public record Geometry(int[] in, int[] kernel, int[] strides, int[] dilations, int[] padBegin, int[] out) {
        public int rank() {
            return in.length;
        }
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 3);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X"), w = Ops.required(n, inputs, 1, "W"), b = Ops.optional(inputs, 2);
        Ops.requireFloat(n, x, 0, "X");
        int r = x.shape().rank();
        if (r < 3 || r > 5)
            throw n.error(Ops.in(n, 0, "X") + " has shape " + x.shape() + " but ConvTranspose needs rank 3, 4 or 5 ([N, C, spatial...])");
        Ops.requireSameDtype(n, x, 0, "X", w, 1, "W");
        Ops.requireRank(n, w, 1, "W", r);
        int group = Ops.intAttr(n, "group", 1), c = x.shape().dim(1);
        if (w.shape().dim(0) != c)
            throw n.error(Ops.in(n, 1, "W") + " has shape " + w.shape() + ": its dimension 0 must be the " + c
                    + " input channels of X " + x.shape());
        if (group < 1 || c % group != 0)
            throw n.error("group " + group + " must divide the " + c + " input channels of X " + x.shape());
        int m = w.shape().dim(1) * group;
        if (b != null) {
            Ops.requireSameDtype(n, x, 0, "X", b, 2, "B");
            if (!b.shape().equals(new Shape(m)))
                throw n.error(Ops.in(n, 2, "B") + " has shape " + b.shape() + " but ConvTranspose needs [" + m + "] (one per output channel)");
        }
        Geometry g = geometry(n, x.shape(), w.shape());
        int[] out = new int[r];
        out[0] = x.shape().dim(0);
        out[1] = m;
        for (int i = 0; i < g.rank(); i++) out[i + 2] = g.out()[i];
        return List.of(Ops.out(n, 0, x.dtype(), new Shape(out)));
    }

    /** The geometry of the node for input shape {@code x} and weight shape {@code w} (ONNX's reference rules). */
    public static Geometry geometry(Node n, Shape x, Shape w) {
        int k = x.rank() - 2;
        int[] in = new int[k], kernel = new int[k];
        for (int i = 0; i < k; i++) {
            in[i] = x.dim(i + 2);
            kernel[i] = w.dim(i + 2);
        }
        long[] ks = n.attrInts("kernel_shape", null);
        if (ks != null && !Arrays.equals(ks, Arrays.copyOfRange(w.longDims(), 2, w.rank())))
            throw n.error("attribute kernel_shape " + Arrays.toString(ks) + " does not match the weights' shape " + w);
        int[] strides = ints(n, "strides", k, 1), dil = ints(n, "dilations", k, 1), outPad = ints(n, "output_padding", k, 0);
        int[] pads = ints(n, "pads", 2 * k, 0);
        String autoPad = n.attrString("auto_pad", "NOTSET");
        if (!List.of("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER").contains(autoPad))
            throw n.error("auto_pad '" + autoPad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        long[] shape = n.attrInts("output_shape", null);
        if (shape != null && shape.length == k + 2) shape = Arrays.copyOfRange(shape, 2, k + 2);
        if (shape != null && shape.length != k)
            throw n.error("output_shape " + Arrays.toString(n.attrInts("output_shape", null)) + " needs " + k + " spatial sizes");
        boolean same = autoPad.startsWith("SAME");
        int[] begin = new int[k], out = new int[k];
        for (int i = 0; i < k; i++) {
            if (strides[i] < 1 || dil[i] < 1) throw n.error("strides and dilations must be positive");
            int full = strides[i] * (in[i] - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1;
            if (shape != null || same) {
                // The pads follow from the requested size; the odd one goes to the end for SAME_UPPER
                // (and for an explicit output_shape), to the beginning for SAME_LOWER.
                out[i] = shape != null ? Math.toIntExact(shape[i]) : in[i] * strides[i];
                int total = full - out[i];
                begin[i] = autoPad.equals("SAME_UPPER") ? Math.floorDiv(total, 2) : total - Math.floorDiv(total, 2);
            } else if (autoPad.equals("VALID")) {
                out[i] = full;
            } else {
                begin[i] = pads[i];
                out[i] = full - pads[i] - pads[i + k];
            }
            if (out[i] < 0) throw n.error("the output size of spatial axis " + i + " would be " + out[i]);
        }
        return new Geometry(in, kernel, strides, dil, begin, out);
    }

    private static int[] ints(Node n, String attr, int len, int dflt) {
        long[] v = n.attrInts(attr, null);
        int[] r = new int[len];
        Arrays.fill(r, dflt);
        if (v == null) return r;
        if (v.length != len) throw n.error("attribute " + attr + " " + Arrays.toString(v) + " needs " + len + " values");
        return Ops.toInts(n, v, attr);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value outType = Ops.inferFrom(this, n, inputs).get(0);
        Tensor xt = inputs.get(0), wt = inputs.get(1), bt = Ops.constant(inputs, 2);
        Geometry g = geometry(n, xt.shape(), wt.shape());
        int sp = g.rank(), batch = xt.shape().dim(0), c = xt.shape().dim(1), group = Ops.intAttr(n, "group", 1);
        int cg = c / group, mg = wt.shape().dim(1), m = mg * group;
        int inPlane = 1, outPlane = 1, taps = 1;
        for (int d = 0; d < sp; d++) {
            inPlane *= g.in()[d];
            outPlane *= g.out()[d];
            taps *= g.kernel()[d];
        }
        double[] x = TensorData.toDoubles(xt), w = TensorData.toDoubles(wt), b = bt == null ? null : TensorData.toDoubles(bt);
        double[] y = new double[batch * m * outPlane];
        int ip = inPlane, op = outPlane, tp = taps;
        IntStream.range(0, batch * m).parallel().forEach(nm -> {
            int img = nm / m, oc = nm % m, grp = oc / mg, yoff = nm * op;
            int[] xi = new int[sp], ki = new int[sp];
            for (int ci = 0; ci < cg; ci++) {
                int chan = grp * cg + ci, xoff = (img * c + chan) * ip, woff = (chan * mg + oc % mg) * tp;
                for (int xs = 0; xs < ip; xs++) {
                    unflatten(xs, g.in(), xi);
                    double xv = x[xoff + xs];
                    for (int t = 0; t < tp; t++) {
                        unflatten(t, g.kernel(), ki);
                        int o = 0;
                        boolean inside = true;
                        for (int d = 0; d < sp && inside; d++) {
                            int p = xi[d] * g.strides()[d] + ki[d] * g.dilations()[d] - g.padBegin()[d];
                            inside = p >= 0 && p < g.out()[d];
                            o = o * g.out()[d] + p;
                        }
                        if (inside) y[yoff + o] += xv * w[woff + t];
                    }
                }
            }
            if (b != null) for (int i = 0; i < op; i++) y[yoff + i] += b[oc];
        });
        return List.of(TensorData.fromDoubles(outType.dtype(), outType.shape(), y));
    }

    private static void unflatten(int flat, int[] dims, int[] idx) {
        for (int d = dims.length - 1; d >= 0; d--) {
            idx[d] = flat % dims[d];
            flat /= dims[d];
        }
    }
}
