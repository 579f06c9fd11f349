package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import java.util.Arrays;

/**
 * The geometry of a sliding window along one spatial axis (Conv and pooling): input size,
 * kernel, stride, dilation, padding and the output size they give.
 */
record Window(int in, int kernel, int stride, int dilation, int padBegin, int padEnd, int out) {

    /** Extent of the dilated kernel. */
    int span() {
        return (kernel - 1) * dilation + 1;
    }

    /**
     * Windows for each spatial axis from the node's kernel_shape, strides, dilations, pads and
     * auto_pad attributes. {@code ceilMode} rounds the output size up (pooling); a last window
     * that would start past the input and its begin padding is dropped, as PyTorch does.
     */
    static Window[] of(Node n, int[] in, int[] kernel, boolean ceilMode) {
        int k = in.length;
        int[] strides = ints(n, "strides", k, 1), dil = ints(n, "dilations", k, 1);
        int[] pads = ints(n, "pads", 2 * k, 0);
        String autoPad = n.attrString("auto_pad", "NOTSET");
        Window[] w = new Window[k];
        for (int i = 0; i < k; i++) {
            if (kernel[i] < 1 || strides[i] < 1 || dil[i] < 1)
                throw n.error("kernel, strides and dilations must be positive; got kernel " + Arrays.toString(kernel)
                        + ", strides " + Arrays.toString(strides) + ", dilations " + Arrays.toString(dil));
            int span = (kernel[i] - 1) * dil[i] + 1;
            int pb, pe, out;
            switch (autoPad) {
                case "NOTSET" -> {
                    pb = pads[i];
                    pe = pads[i + k];
                    if (pb < 0 || pe < 0) throw n.error("pads " + Arrays.toString(pads) + " has a negative value");
                    out = outSize(in[i] + pb + pe, span, strides[i], ceilMode);
                    if (ceilMode && out > 0 && (long) (out - 1) * strides[i] >= in[i] + pb) out--;
                }
                case "VALID" -> {
                    pb = pe = 0;
                    out = outSize(in[i], span, strides[i], ceilMode);
                }
                case "SAME_UPPER", "SAME_LOWER" -> {
                    out = (in[i] + strides[i] - 1) / strides[i];
                    int total = Math.max(0, (out - 1) * strides[i] + span - in[i]);
                    pb = autoPad.equals("SAME_UPPER") ? total / 2 : total - total / 2;
                    pe = total - pb;
                }
                default -> throw n.error("auto_pad '" + autoPad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
            }
            if (out < 1)
                throw n.error("spatial size " + in[i] + " (axis " + (i + 2) + ") is too small for a kernel of extent " + span
                        + " with pads " + Arrays.toString(pads) + ": the output would be empty");
            w[i] = new Window(in[i], kernel[i], strides[i], dil[i], pb, pe, out);
        }
        return w;
    }

    private static int outSize(int padded, int span, int stride, boolean ceil) {
        if (padded < span) return 0;
        return (ceil ? (padded - span + stride - 1) / stride : (padded - span) / stride) + 1;
    }

    /** An ints attribute with one value per axis (or the default for every axis). */
    private static int[] ints(Node n, String attr, int len, int dflt) {
        long[] v = n.attrInts(attr, null);
        int[] r = new int[len];
        if (v == null) {
            Arrays.fill(r, dflt);
            return r;
        }
        if (v.length != len)
            throw n.error("attribute '" + attr + "' " + Arrays.toString(v) + " has " + v.length + " values but needs " + len);
        return Ops.toInts(n, v, "attribute '" + attr + "'");
    }

    /** The range [lo, hi) of output positions whose kernel tap {@code t} lands inside the input. */
    int validLo(int t) {
        int off = t * dilation - padBegin; // input index = o * stride + off
        return off >= 0 ? 0 : Math.min(out, (-off + stride - 1) / stride);
    }

    int validHi(int t) {
        int off = t * dilation - padBegin;
        // largest o with o * stride + off <= in - 1
        if (in - 1 - off < 0) return 0;
        return Math.min(out, (in - 1 - off) / stride + 1);
    }
}
