package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Operation;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Conv in NCHW (any number of spatial dimensions): groups (depthwise included), strides, pads,
 * dilations and an optional bias. The reduction over {@code (ci, k...)} is tagged
 * {@link Template#CONV}; a bias is a second, elementwise nest over the materialized result.
 * F32 convs with constant weights and no groups take the blocked form ({@link #blocked}).
 */
final class Conv {
    private Conv() {}

    /** The shapes the compute works on: the graph's, or for a pointwise conv the spatial axes as one. */
    private record Views(long[] x, long[] w, long[] y, Windows.Geometry g) {
        int spatial() {
            return g.rank();
        }
    }

    static void conv(OpBuilder b) {
        Views v = views(b);
        if (blockable(b)) {
            blocked(b, v);
            return;
        }
        int sp = v.spatial();
        Windows.Geometry g = v.g();
        long group = b.node.attrInt("group", 1);
        long m = v.w()[0], cg = v.w()[1], mg = m / group;
        ScalarType t = b.outType(0);

        Placeholder x = b.input(0, v.x()), wt = b.input(1, v.w());
        long s = g.strides()[sp - 1];
        // A GPU reads the input through the padding and the stride directly (inlined): a padded or
        // phase-split copy would be written by every thread whose window overlaps another's.
        boolean cpu = b.target instanceof dev.kiln.targets.CpuTarget;
        long ow = v.y()[sp + 1], wide = cpu && sp >= 2 && s > 1 ? vectorWidth(ow) : ow;
        long[] y = v.y().clone();
        if (wide != ow) {
            // Computed over rows of `wide` columns (the padded input reaches that far), then cropped.
            long[] out = g.out().clone();
            out[sp - 1] = wide;
            g = new Windows.Geometry(g.in(), out, g.kernel(), g.strides(), g.dilations(), g.padsBegin(), g.padsEnd());
            y[sp + 1] = wide;
        }
        Windows.Geometry gw = g;
        boolean phased = cpu && s > 1;
        Operation xp = phased ? phases(b, x, gw, Idx.lit(t, 0)) : Windows.padded(b, x, gw, Idx.lit(t, 0), cpu);
        Expr.Var ci = b.reduceAxis("rc");
        List<Expr.Var> rk = new ArrayList<>();
        for (int d = 0; d < sp; d++) rk.add(b.reduceAxis("rk" + d));
        List<Expr.Var> raxes = new ArrayList<>(List.of(ci));
        raxes.addAll(rk);
        List<Long> rext = new ArrayList<>(List.of(cg));
        for (long k : g.kernel()) rext.add(k);

        boolean bias = b.node.hasInput(2), crop = wide != ow;
        String name = bias || crop ? b.name("conv") : b.outName(0);
        Compute conv = Te.compute(name, t, Te.box(y), ax -> {
            Expr co = ax.get(1);
            // The input channel of output channel co: its group's first channel plus ci.
            Expr chan = group == 1 ? ci : cg == 1 && mg == 1 ? co : Exprs.add(Idx.mul(Exprs.div(co, Idx.c(mg)), cg), ci);
            List<Expr> xi = new ArrayList<>(List.of(ax.get(0), chan));
            List<Expr> wi = new ArrayList<>(List.of(co, ci));
            for (int d = 0; d < sp; d++) {
                xi.add(Idx.window(ax.get(d + 2), gw.strides()[d], rk.get(d), gw.dilations()[d], 0));
                wi.add(rk.get(d));
            }
            if (phased) {
                // Column ow*s + k*dil lies in phase (k*dil) mod s at ow + (k*dil) div s.
                Expr tap = Idx.mul(rk.get(sp - 1), gw.dilations()[sp - 1]);
                xi.set(sp + 1, Exprs.mod(tap, Idx.c(s)));
                xi.add(Exprs.add(ax.get(sp + 1), Exprs.div(tap, Idx.c(s))));
            }
            return Te.sum(Exprs.mul(Te.read(xp, xi), Te.read(wt, wi)), raxes, rext);
        });
        b.tag(conv, Template.CONV);
        if (!bias && !crop) {
            b.output(0, conv);
            return;
        }
        Placeholder bs = bias ? b.input(2) : null;
        b.output(0, Te.compute(b.outName(0), t, Te.box(v.y()), ax -> {
            Expr e = Te.read(conv, ax);
            return bias ? Exprs.add(e, Te.read(bs, ax.get(1))) : e;
        }));
    }

    /**
     * The row width a strided plain conv computes for {@code ow} output columns (it reads a
     * phase-split copy, which simply gets wider): short rows widen to a whole vector, so no row
     * ends in a 14-lane vector that LLVM splits into 8+4+2 pieces. Measured on MobileNetV2's
     * stride-2 depthwise convs: 28->14 2.5x faster; widening 7 to 8 or 28 to 32 measured slower
     * (the crop copy costs more than the lanes save), as did widening stride-1 rows.
     */
    static long vectorWidth(long ow) {
        return ow > 8 && ow < 16 ? 16 : ow;
    }

    /**
     * The padded input of a conv whose last axis has stride s > 1, copied once with that axis split
     * into its s phases: {@code P[n, c, ..., p, j] = padded[n, c, ..., j*s + p]}. A tap then reads
     * consecutive output columns from consecutive elements of one phase, a plain vector load
     * instead of a stride-s gather (measured 5x slower for MobileNetV2's stride-2 depthwise convs).
     */
    private static Operation phases(OpBuilder b, Placeholder x, Windows.Geometry g, Expr zero) {
        int sp = g.rank();
        long s = g.strides()[sp - 1];
        long cols = Math.ceilDiv(Math.max(g.reach(sp - 1), 1), s);
        // Phase rows a multiple of 16 long (the extra columns hold zeros), so the copy has no guarded tail.
        if (cols > 16) cols = Math.ceilDiv(cols, 16) * 16;
        long[] shape = new long[sp + 3];
        shape[0] = x.shape().get(0);
        shape[1] = x.shape().get(1);
        for (int d = 0; d < sp - 1; d++) shape[d + 2] = Math.max(g.reach(d), 1);
        shape[sp + 1] = s;
        shape[sp + 2] = cols;
        return b.materialize("phases", x.dtype(), shape, ax -> {
            List<Expr> idx = new ArrayList<>(List.of(ax.get(0), ax.get(1)));
            List<Expr> inside = new ArrayList<>();
            for (int d = 0; d < sp; d++) {
                Expr i = d < sp - 1 ? ax.get(d + 2) : Exprs.add(Idx.mul(ax.get(sp + 2), s), ax.get(sp + 1));
                i = Idx.add(i, -g.padsBegin()[d]);
                inside.add(Idx.within(i, 0, g.in()[d]));
                idx.add(Idx.clamp(i, 0, g.in()[d] - 1));
            }
            return Exprs.select(Idx.all(inside), Te.read(x, idx), zero);
        });
    }

    /** An f32 conv with constant weights and no groups: vectorized over output channels. */
    private static boolean blockable(OpBuilder b) {
        return b.outType(0) == ScalarType.F32 && b.node.attrInt("group", 1) == 1 && b.constant(1) != null
                && b.inDims(0).length >= 3;
    }

    /**
     * Conv vectorized over output channels (TVM's NCHWc conv, with the graph kept NCHW): the
     * weights are packed at compile time to {@code [co/B][ci][k...][B]}, B the target's channel block (zero rows pad co up to
     * a multiple of B), a reduction computes the blocked result {@code Y[n][co/B][spatial...][B]}
     * with each input element read as a scalar broadcast (so strides cost nothing special), and an
     * injective nest converts it back to NCHW, adding the bias and dropping the padded channels.
     * That last nest is the conv's output, so elementwise epilogues can fuse into it.
     */
    private static void blocked(OpBuilder b, Views v) {
        int sp = v.spatial();
        Windows.Geometry g = v.g();
        ScalarType t = b.outType(0);
        int block = b.channelBlock();
        long co = v.w()[0], ci = v.w()[1], blocks = Math.ceilDiv(co, block);
        Placeholder x = b.input(0, v.x());
        Operation xp = Windows.padded(b, x, g, Idx.lit(t, 0), b.target instanceof dev.kiln.targets.CpuTarget); // inlined on a GPU (see plain)
        // The pointwise view packs [co][ci][1]: another name than the same weight packed as [co][ci][1][1].
        String packed = b.node.input(1) + "__packed" + block + (v.w().length == b.inDims(1).length ? "" : "_flat");
        Placeholder wp = b.derivedConstant(packed, packWeights(b.constant(1), v.w(), block));

        Expr.Var rc = b.reduceAxis("rc");
        List<Expr.Var> rk = new ArrayList<>();
        for (int d = 0; d < sp; d++) rk.add(b.reduceAxis("rk" + d));
        List<Expr.Var> raxes = new ArrayList<>(List.of(rc));
        raxes.addAll(rk);
        List<Long> rext = new ArrayList<>(List.of(ci));
        for (long k : g.kernel()) rext.add(k);

        long[] shape = new long[sp + 3];
        shape[0] = v.y()[0];
        shape[1] = blocks;
        System.arraycopy(v.y(), 2, shape, 2, sp);
        shape[sp + 2] = block;
        Compute conv = Te.compute(b.name("conv_blocked"), t, Te.box(shape), ax -> {
            List<Expr> xi = new ArrayList<>(List.of(ax.get(0), rc));
            List<Expr> wi = new ArrayList<>(List.of(ax.get(1), rc));
            for (int d = 0; d < sp; d++) {
                xi.add(Idx.window(ax.get(d + 2), g.strides()[d], rk.get(d), g.dilations()[d], 0));
                wi.add(rk.get(d));
            }
            wi.add(ax.get(sp + 2));
            return Te.sum(Exprs.mul(Te.read(xp, xi), Te.read(wp, wi)), raxes, rext);
        });
        b.tag(conv, Template.CONV);

        Placeholder bias = b.node.hasInput(2) ? b.input(2) : null;
        Compute y = Te.compute(b.outName(0), t, Te.box(v.y()), ax -> {
            Expr c = ax.get(1);
            List<Expr> idx = new ArrayList<>(List.of(ax.get(0), Exprs.div(c, Idx.c(block))));
            idx.addAll(ax.subList(2, ax.size()));
            idx.add(Exprs.mod(c, Idx.c(block)));
            Expr e = Te.read(conv, idx);
            return bias == null ? e : Exprs.add(e, Te.read(bias, c));
        });
        // Tagged too: the conversion's loop order is the conv template's (ConvSchedule.toNchw).
        b.tag(y, Template.CONV);
        b.output(0, y);
    }

    /** {@code W[co][ci][k...]} as {@code P[co/block][ci][k...][block]}, channels past co zero. */
    static Tensor packWeights(Tensor w, long[] dims, int block) {
        int co = (int) dims[0], ci = (int) dims[1], k = 1;
        for (int d = 2; d < dims.length; d++) k *= (int) dims[d];
        int blocks = Math.ceilDiv(co, block);
        float[] src = w.floats(), dst = new float[blocks * ci * k * block];
        for (int o = 0; o < co; o++)
            for (int c = 0; c < ci; c++)
                for (int kk = 0; kk < k; kk++)
                    dst[(((o / block) * ci + c) * k + kk) * block + o % block] = src[(o * ci + c) * k + kk];
        long[] shape = new long[dims.length + 1];
        System.arraycopy(dims, 0, shape, 0, dims.length);
        shape[0] = blocks;
        shape[dims.length] = block;
        return Tensor.ofFloats(Shape.of(shape), dst);
    }

    /**
     * A 1x1 conv with stride 1 and no pads is seen with its spatial axes as one, so the output
     * row that the schedule vectorizes is H*W long instead of W (a 28-wide row fills 16-lane
     * vectors poorly; 784 fills them exactly).
     */
    private static Views views(OpBuilder b) {
        long[] x = b.inDims(0), w = b.inDims(1), y = b.outDims(0);
        Windows.Geometry g = Windows.geometry(b, Arrays.copyOfRange(w, 2, w.length));
        for (int d = 0; d < g.rank(); d++)
            if (g.kernel()[d] != 1 || g.strides()[d] != 1 || g.padsBegin()[d] != 0 || g.padsEnd()[d] != 0) return new Views(x, w, y, g);
        long hw = Idx.numel(g.in());
        long[] one = {1};
        Windows.Geometry flat = new Windows.Geometry(new long[] {hw}, new long[] {hw}, one, one, one, new long[1], new long[1]);
        return new Views(new long[] {x[0], x[1], hw}, new long[] {w[0], w[1], 1}, new long[] {y[0], y[1], hw}, flat);
    }
}
