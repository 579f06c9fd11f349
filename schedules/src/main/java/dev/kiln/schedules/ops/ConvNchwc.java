package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Operation;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * The computes of the blocked-layout ops ({@link Blocked}, made by the BlockLayout pass): layout
 * conversions, conv (dense and depthwise) and pools on {@code [N, C/x, H, W, x]} tensors. The
 * lane axis x is innermost everywhere, so the templates vectorize over channels: every tap of a
 * window is one contiguous vector load whatever the stride, and rows of 7 or 14 columns no longer
 * leave vectors half empty.
 */
final class ConvNchwc {
    private ConvNchwc() {}

    /** Part of the reduction compute's (and its local tile's) name, for readable IR dumps. */
    static final String MARK = "nchwc";

    /** {@code Y[n, cb, sp..., l] = X[n, cb*x + l, sp...]}, zero in the padding channels. */
    static void toBlocked(OpBuilder b) {
        long[] x = b.inDims(0), y = b.outDims(0);
        long block = y[y.length - 1], c = x[1];
        Placeholder in = b.input(0);
        ScalarType t = b.outType(0);
        b.output(0, Te.compute(b.outName(0), t, Te.box(y), ax -> {
            Expr ch = Exprs.add(Idx.mul(ax.get(1), block), ax.getLast());
            List<Expr> idx = new ArrayList<>(List.of(ax.get(0), c % block == 0 ? ch : Idx.clamp(ch, 0, c - 1)));
            idx.addAll(ax.subList(2, ax.size() - 1));
            Expr v = Te.read(in, idx);
            return c % block == 0 ? v : Exprs.select(Idx.within(ch, 0, c), v, Idx.lit(t, 0));
        }));
    }

    /** {@code Y[n, c, sp...] = X[n, c/x, sp..., c%x]}. */
    static void fromBlocked(OpBuilder b) {
        long[] x = b.inDims(0), y = b.outDims(0);
        long block = x[x.length - 1];
        Placeholder in = b.input(0);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(y), ax -> {
            List<Expr> idx = new ArrayList<>(List.of(ax.get(0), Exprs.div(ax.get(1), Idx.c(block))));
            idx.addAll(ax.subList(2, ax.size()));
            idx.add(Exprs.mod(ax.get(1), Idx.c(block)));
            return Te.read(in, idx);
        }));
    }

    /** The plain {@code [N, C, sp...]} dims of blocked dims with {@code channels} real channels. */
    private static long[] plain(long[] blocked, long channels) {
        long[] p = new long[blocked.length - 1];
        p[0] = blocked[0];
        p[1] = channels;
        System.arraycopy(blocked, 2, p, 2, blocked.length - 3);
        return p;
    }

    /**
     * ConvNCHWc: {@code Y[n, ob, oh, ow, ol] = sum X[n, ci/x, oh*s + kh*d, ow*s + kw*d, ci%x] * W[ob*x + ol, ci, kh, kw] + B}.
     * Weights are packed at compile time to {@code [M/x][C][kh][kw][x]} (dense) or
     * {@code [M/x][1][kh][kw][x]} (depthwise, where ci is the output channel itself). When the
     * input channels fill whole blocks the reduction runs over (block, taps, lane) so the innermost
     * reduce loop reads consecutive elements of one input row; otherwise over the real channels
     * only, so padding channels are never read.
     */
    static void conv(OpBuilder b) {
        long[] xb = b.inDims(0), yb = b.outDims(0), w = b.inDims(1);
        // The input's block (the target's, or its channel count for an image: Blocked) and the output's.
        long block = xb[xb.length - 1], outBlock = yb[yb.length - 1], c = b.node.attrInt(Blocked.CHANNELS, -1), m = w[0];
        long[] kernel = java.util.Arrays.copyOfRange(w, 2, w.length);
        Windows.Geometry g = Windows.geometry(b, kernel, plain(xb, c), plain(yb, m));
        int sp = g.rank();
        long group = b.node.attrInt("group", 1);
        boolean depthwise = group > 1 && w[1] == 1 && group == c;
        // Grouped (not depthwise): each group's channels fill whole blocks (BlockLayout checks),
        // so output block ob reads the input blocks of its group, ob / (M/group/B) * (C/group/B) on.
        long groupBlocks = depthwise ? 0 : c / group / block, outGroupBlocks = m / group / outBlock;
        ScalarType t = b.outType(0);
        Tensor wt = b.constant(1);
        if (wt == null) throw b.node.error("ConvNCHWc needs constant weights (BlockLayout only makes it for those)");
        Placeholder x = b.input(0);
        // Copied once with its padding, so every tap is a plain load.
        Operation xp = Windows.padded(b, x, g, Idx.lit(t, 0), true, block);
        boolean whole = c % block == 0;
        // Dense convs over whole input blocks read their weights as [M/B][C/B][taps][B_in][B_out]:
        // the innermost reduction (an input block's lanes) then walks 16 consecutive vectors
        // instead of one vector every taps*16 floats (9 KiB apart for 3x3), which left ResNet's
        // 512-channel 3x3 layers waiting on weight loads at 62 % of peak.
        boolean lanesInner = !depthwise && whole;
        Placeholder wp = lanesInner
                ? b.derivedConstant(b.node.input(1) + "__packed" + outBlock + "x" + block, packWeightsByBlock(wt, w, (int) outBlock, (int) block))
                : b.derivedConstant(b.node.input(1) + "__packed" + outBlock, Conv.packWeights(wt, w, (int) outBlock));

        List<Expr.Var> rk = new ArrayList<>();
        for (int d = 0; d < sp; d++) rk.add(b.reduceAxis("rk" + d));
        List<Expr.Var> raxes = new ArrayList<>();
        List<Long> rext = new ArrayList<>();
        Expr.Var rco = null, rci = null, rc = null;
        if (!depthwise && whole) {
            rco = b.reduceAxis("rco");
            rci = b.reduceAxis("rci");
            raxes.add(rco);
            rext.add(c / group / block);
        } else if (!depthwise) {
            rc = b.reduceAxis("rc");
            raxes.add(rc);
            rext.add(c);
        }
        raxes.addAll(rk);
        for (long k : kernel) rext.add(k);
        if (rci != null) {
            raxes.add(rci);
            rext.add(block);
        }
        Expr.Var fco = rco, fci = rci, fc = rc;
        Compute acc = Te.compute(b.name("conv_" + MARK), t, Te.box(yb), ax -> {
            Expr ob = ax.get(1), ol = ax.getLast();
            List<Expr> xi = new ArrayList<>(List.of(ax.get(0)));
            List<Expr> wi = new ArrayList<>(List.of(ob));
            if (depthwise) {
                xi.add(ob);
                wi.add(Idx.c(0));
            } else if (fco != null) {
                xi.add(group == 1 ? fco : Exprs.add(Idx.mul(Exprs.div(ob, Idx.c(outGroupBlocks)), groupBlocks), fco));
                wi.add(fco);
            } else {
                xi.add(Exprs.div(fc, Idx.c(block)));
                wi.add(fc);
            }
            for (int d = 0; d < sp; d++) {
                xi.add(Idx.window(ax.get(d + 2), g.strides()[d], rk.get(d), g.dilations()[d], 0));
                wi.add(rk.get(d));
            }
            xi.add(depthwise ? ol : fco != null ? fci : Exprs.mod(fc, Idx.c(block)));
            if (fco != null) wi.add(fci);
            wi.add(ol);
            return Te.sum(Exprs.mul(Te.read(xp, xi), Te.read(wp, wi)), raxes, rext);
        });
        b.tag(acc, Template.CONV_NCHWC);
        if (!b.node.hasInput(2)) {
            // The output nest is the tile's epilogue ({@link ConvSchedule#withEpilogue}), even a plain copy.
            b.output(0, Te.compute(b.outName(0), t, Te.box(yb), ax -> Te.read(acc, ax)));
            return;
        }
        Tensor bias = b.constant(2);
        Placeholder bp = bias != null ? b.derivedConstant(b.node.input(2) + "__padded" + outBlock, padBias(bias, yb[1] * outBlock)) : b.input(2);
        b.output(0, Te.compute(b.outName(0), t, Te.box(yb), ax -> {
            Expr ch = Exprs.add(Idx.mul(ax.get(1), outBlock), ax.getLast());
            return Exprs.add(Te.read(acc, ax), Te.read(bp, bias != null ? ch : Idx.clamp(ch, 0, m - 1)));
        }));
    }

    /**
     * Weights {@code [M, Cin, k...]} as {@code [ceil(M/ob)][Cin/ib][k...][ib][ob]}: for each output
     * block and input block, tap by tap, the input block's lanes one after another, each a
     * vector of the output block's lanes (output channels past M are zero).
     */
    static Tensor packWeightsByBlock(Tensor w, long[] dims, int ob, int ib) {
        int co = (int) dims[0], ci = (int) dims[1], k = 1;
        for (int d = 2; d < dims.length; d++) k *= (int) dims[d];
        int blocks = Math.ceilDiv(co, ob), inBlocks = ci / ib;
        float[] src = w.floats(), dst = new float[blocks * ci * k * ob];
        for (int o = 0; o < co; o++)
            for (int c = 0; c < ci; c++)
                for (int kk = 0; kk < k; kk++)
                    dst[((((o / ob) * inBlocks + c / ib) * k + kk) * ib + c % ib) * ob + o % ob] = src[(o * ci + c) * k + kk];
        long[] shape = new long[dims.length + 2];
        shape[0] = blocks;
        shape[1] = inBlocks;
        for (int d = 2; d < dims.length; d++) shape[d] = dims[d];
        shape[dims.length] = ib;
        shape[dims.length + 1] = ob;
        return Tensor.ofFloats(Shape.of(shape), dst);
    }

    private static Tensor padBias(Tensor bias, long n) {
        float[] src = bias.floats(), dst = new float[(int) n];
        System.arraycopy(src, 0, dst, 0, src.length);
        return Tensor.ofFloats(Shape.of(n), dst);
    }

    /** MaxPoolNCHWc and AveragePoolNCHWc: the window reduction per lane; the average divides by the counted taps. */
    static void pool(OpBuilder b) {
        boolean max = Blocked.inner(b.node).equals("MaxPool");
        long[] xb = b.inDims(0), yb = b.outDims(0);
        long c = b.node.attrInt(Blocked.CHANNELS, -1);
        long[] kernel = b.node.attrInts("kernel_shape", null);
        if (kernel == null) throw b.node.error("attribute kernel_shape is required");
        Windows.Geometry g = Windows.geometry(b, kernel, plain(xb, c), plain(yb, c));
        Pool.window(b, b.input(0), g, yb, max, true);
    }

    /** GlobalAveragePoolNCHWc / GlobalMaxPoolNCHWc: a reduction over the flattened spatial axes, vectorized over lanes. */
    static void global(OpBuilder b) {
        boolean max = Blocked.inner(b.node).equals("GlobalMaxPool");
        long[] xb = b.inDims(0), yb = b.outDims(0);
        long block = xb[xb.length - 1], hw = 1;
        for (int d = 2; d < xb.length - 1; d++) hw *= xb[d];
        ScalarType t = b.outType(0);
        Placeholder x = b.input(0, new long[] {xb[0], xb[1], hw, block});
        Expr.Var r = b.reduceAxis("rhw");
        long spatial = hw;
        Compute red = Te.compute(max ? b.outName(0) : b.name("pool_sum"), t, Te.box(yb), ax -> {
            Expr v = Te.read(x, ax.get(0), ax.get(1), r, ax.getLast());
            return max ? Te.max(v, List.of(r), List.of(spatial)) : Te.sum(v, List.of(r), List.of(spatial));
        });
        b.tag(red, Template.REDUCTION);
        if (max) {
            b.output(0, red);
            return;
        }
        b.output(0, Te.compute(b.outName(0), t, Te.box(yb), ax -> Exprs.div(Te.read(red, ax), Idx.lit(t, spatial))));
    }
}
