package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Conv (1-D, 2-D or 3-D): X [N, C, spatial...] with weights W [M, C/group, kernel...] and optional
 * bias B [M]. Each output element is the double-precision sum over channels of its group and kernel
 * taps (in that order, taps in the zero padding skipped), plus the bias, rounded once.
 */
final class Conv implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 3);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X"), w = Ops.required(n, inputs, 1, "W"), b = Ops.optional(inputs, 2);
        Ops.requireFloat(n, x, 0, "X");
        int r = x.shape().rank();
        if (r < 3 || r > 5)
            throw n.error(Ops.in(n, 0, "X") + " has shape " + x.shape() + " but Conv needs rank 3, 4 or 5 ([N, C, spatial...])");
        Ops.requireSameDtype(n, x, 0, "X", w, 1, "W");
        Ops.requireRank(n, w, 1, "W", r);
        int group = Ops.intAttr(n, "group", 1), c = x.shape().dim(1), m = w.shape().dim(0);
        if (group < 1 || c % group != 0 || m % group != 0)
            throw n.error("group " + group + " must divide the " + c + " input channels of X " + x.shape() + " and the " + m
                    + " output channels of W " + w.shape());
        if (w.shape().dim(1) * group != c)
            throw n.error(Ops.in(n, 1, "W") + " has shape " + w.shape() + ": with group " + group + " its dimension 1 must be "
                    + c / group + " (X " + x.shape() + " has " + c + " channels)");
        if (b != null) {
            Ops.requireSameDtype(n, x, 0, "X", b, 2, "B");
            if (!b.shape().equals(new Shape(m)))
                throw n.error(Ops.in(n, 2, "B") + " has shape " + b.shape() + " but Conv needs [" + m + "] (one per output channel)");
        }
        Window[] win = windows(n, x.shape(), w.shape());
        int[] out = new int[r];
        out[0] = x.shape().dim(0);
        out[1] = m;
        for (int i = 0; i < win.length; i++) out[i + 2] = win[i].out();
        return List.of(Ops.out(n, 0, x.dtype(), new Shape(out)));
    }

    static Window[] windows(Node n, Shape x, Shape w) {
        int k = x.rank() - 2;
        int[] in = new int[k], kernel = new int[k];
        for (int i = 0; i < k; i++) {
            in[i] = x.dim(i + 2);
            kernel[i] = w.dim(i + 2);
        }
        long[] ks = n.attrInts("kernel_shape", null);
        if (ks != null && !java.util.Arrays.equals(ks, java.util.Arrays.copyOfRange(w.longDims(), 2, w.rank())))
            throw n.error("attribute kernel_shape " + java.util.Arrays.toString(ks) + " does not match the weights' shape " + w);
        return Window.of(n, in, kernel, false);
    }

    /** Pads a 1-D or 2-D geometry to 3-D with unit leading axes, so one loop nest serves all. */
    static Window[] as3d(Window[] w) {
        Window[] r = new Window[3];
        for (int i = 0; i < 3; i++) {
            int j = i - (3 - w.length);
            r[i] = j >= 0 ? w[j] : new Window(1, 1, 1, 1, 0, 0, 1);
        }
        return r;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Value outType = Ops.inferFrom(this, n, inputs).get(0);
        Tensor xt = inputs.get(0), wt = inputs.get(1), bt = Ops.constant(inputs, 2);
        Window[] win = as3d(windows(n, xt.shape(), wt.shape()));
        Window wd = win[0], wh = win[1], ww = win[2];
        int batch = xt.shape().dim(0), c = xt.shape().dim(1), m = wt.shape().dim(0);
        int group = Ops.intAttr(n, "group", 1), cg = c / group, mg = m / group;
        int inPlane = wd.in() * wh.in() * ww.in(), outPlane = wd.out() * wh.out() * ww.out();
        int taps = wd.kernel() * wh.kernel() * ww.kernel();
        double[] x = TensorData.toDoubles(xt), w = TensorData.toDoubles(wt), b = bt == null ? null : TensorData.toDoubles(bt);
        double[] y = new double[batch * m * outPlane];
        IntStream.range(0, batch * m).parallel().forEach(nm -> {
            int img = nm / m, oc = nm % m, g = oc / mg, yoff = nm * outPlane;
            for (int ci = 0; ci < cg; ci++) {
                int xoff = (img * c + g * cg + ci) * inPlane, woff = (oc * cg + ci) * taps;
                for (int kd = 0; kd < wd.kernel(); kd++) {
                    int d0 = wd.validLo(kd), d1 = wd.validHi(kd);
                    for (int kh = 0; kh < wh.kernel(); kh++) {
                        int h0 = wh.validLo(kh), h1 = wh.validHi(kh);
                        for (int kw = 0; kw < ww.kernel(); kw++) {
                            int w0 = ww.validLo(kw), w1 = ww.validHi(kw);
                            double wv = w[woff + (kd * wh.kernel() + kh) * ww.kernel() + kw];
                            for (int od = d0; od < d1; od++) {
                                int id = od * wd.stride() + kd * wd.dilation() - wd.padBegin();
                                for (int oh = h0; oh < h1; oh++) {
                                    int ih = oh * wh.stride() + kh * wh.dilation() - wh.padBegin();
                                    int xrow = xoff + (id * wh.in() + ih) * ww.in() + kw * ww.dilation() - ww.padBegin();
                                    int yrow = yoff + (od * wh.out() + oh) * ww.out();
                                    int sw = ww.stride();
                                    for (int ow = w0; ow < w1; ow++) y[yrow + ow] += wv * x[xrow + ow * sw];
                                }
                            }
                        }
                    }
                }
            }
            if (b != null) for (int i = 0; i < outPlane; i++) y[yoff + i] += b[oc];
        });
        return List.of(TensorData.fromDoubles(outType.dtype(), outType.shape(), y));
    }
}
