package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool over the spatial axes of
 * X [N, C, spatial...]. Padding never contributes to a max. An average divides by the number of
 * taps inside the input, or with {@code count_include_pad} by those inside input and pads (taps
 * past the end pad, which ceil_mode can add, never count). MaxPool's optional Indices output holds
 * flat indices into X (spatial axes column-major when {@code storage_order=1}).
 */
final class Pool implements OpDef {
    private final boolean max, global;

    private Pool(boolean max, boolean global) {
        this.max = max;
        this.global = global;
    }

    static final Pool MAX = new Pool(true, false), AVERAGE = new Pool(false, false),
            GLOBAL_MAX = new Pool(true, true), GLOBAL_AVERAGE = new Pool(false, true);

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, max && !global ? 2 : 1);
        Value x = Ops.required(n, inputs, 0, "X");
        if (max) Ops.requireNumeric(n, x, 0, "X");
        else Ops.requireFloat(n, x, 0, "X");
        int r = x.shape().rank();
        if (r < 3 || r > 5)
            throw n.error(Ops.in(n, 0, "X") + " has shape " + x.shape() + " but " + n.op() + " needs rank 3, 4 or 5 ([N, C, spatial...])");
        int[] out = x.shape().dims();
        if (global) {
            for (int i = 2; i < r; i++) out[i] = 1;
        } else {
            Window[] w = windows(n, x.shape());
            for (int i = 0; i < w.length; i++) out[i + 2] = w[i].out();
        }
        List<Value> res = new ArrayList<>();
        res.add(Ops.out(n, 0, x.dtype(), new Shape(out)));
        if (n.outputs().size() > 1) res.add(Ops.out(n, 1, DType.INT64, new Shape(out)));
        return res;
    }

    private static Window[] windows(Node n, Shape x) {
        int k = x.rank() - 2;
        long[] ks = n.attrInts("kernel_shape", null);
        if (ks == null) throw n.error("missing required attribute 'kernel_shape'");
        if (ks.length != k)
            throw n.error("attribute kernel_shape " + java.util.Arrays.toString(ks) + " has " + ks.length + " values but X " + x + " has " + k + " spatial axes");
        int[] in = new int[k];
        for (int i = 0; i < k; i++) in[i] = x.dim(i + 2);
        return Window.of(n, in, Ops.toInts(n, ks, "kernel_shape"), n.attrInt("ceil_mode", 0) != 0);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Tensor xt = inputs.get(0);
        Shape xs = xt.shape();
        int k = xs.rank() - 2;
        Window[] win;
        if (global) {
            win = new Window[k];
            for (int i = 0; i < k; i++) win[i] = new Window(xs.dim(i + 2), xs.dim(i + 2), 1, 1, 0, 0, 1);
        } else {
            win = windows(n, xs);
        }
        Window[] w3 = Conv.as3d(win);
        boolean includePad = n.attrInt("count_include_pad", 0) != 0, colMajor = n.attrInt("storage_order", 0) != 0;
        boolean wantIndices = types.size() > 1;
        Window wd = w3[0], wh = w3[1], ww = w3[2];
        int planes = xs.dim(0) * xs.dim(1), inPlane = wd.in() * wh.in() * ww.in(), outPlane = wd.out() * wh.out() * ww.out();
        double[] x = TensorData.toDoubles(xt), y = new double[planes * outPlane];
        long[] idx = wantIndices ? new long[planes * outPlane] : null;
        IntStream.range(0, planes).parallel().forEach(p -> {
            int xoff = p * inPlane, o = p * outPlane;
            for (int od = 0; od < wd.out(); od++)
                for (int oh = 0; oh < wh.out(); oh++)
                    for (int ow = 0; ow < ww.out(); ow++, o++) {
                        double acc = max ? Double.NEGATIVE_INFINITY : 0;
                        int count = 0, best = -1;
                        for (int kd = 0; kd < wd.kernel(); kd++) {
                            int id = od * wd.stride() + kd * wd.dilation() - wd.padBegin();
                            for (int kh = 0; kh < wh.kernel(); kh++) {
                                int ih = oh * wh.stride() + kh * wh.dilation() - wh.padBegin();
                                for (int kw = 0; kw < ww.kernel(); kw++) {
                                    int iw = ow * ww.stride() + kw * ww.dilation() - ww.padBegin();
                                    if (inside(wd, id) && inside(wh, ih) && inside(ww, iw)) {
                                        int at = (id * wh.in() + ih) * ww.in() + iw;
                                        double v = x[xoff + at];
                                        if (!max) {
                                            acc += v;
                                            count++;
                                        } else if (v > acc || best < 0) {
                                            acc = v;
                                            best = at;
                                        }
                                    } else if (includePad && inPads(wd, id) && inPads(wh, ih) && inPads(ww, iw)) {
                                        count++;
                                    }
                                }
                            }
                        }
                        y[o] = max ? acc : acc / count;
                        if (idx != null) idx[o] = (long) p * inPlane + (colMajor ? colMajor(best, win, w3) : best);
                    }
        });
        List<Tensor> out = new ArrayList<>();
        out.add(TensorData.fromDoubles(xt.dtype(), types.get(0).shape(), y));
        if (wantIndices) out.add(Tensor.ofLongs(types.get(1).shape(), idx));
        return out;
    }

    private static boolean inside(Window w, int i) {
        return i >= 0 && i < w.in();
    }

    private static boolean inPads(Window w, int i) {
        return i >= -w.padBegin() && i < w.in() + w.padEnd();
    }

    /** A row-major offset within a plane, re-expressed with the spatial axes in column-major order. */
    private static int colMajor(int rowMajor, Window[] real, Window[] w3) {
        int[] dims = {w3[0].in(), w3[1].in(), w3[2].in()};
        int[] c = {rowMajor / (dims[1] * dims[2]), rowMajor / dims[2] % dims[1], rowMajor % dims[2]};
        int r = 0;
        for (int i = 2; i >= 3 - real.length; i--) r = r * dims[i] + c[i];
        return r;
    }
}
