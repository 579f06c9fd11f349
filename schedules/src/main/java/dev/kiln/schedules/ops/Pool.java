package dev.kiln.schedules.ops;

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
 * MaxPool and AveragePool (pads, auto_pad, ceil_mode, dilations, count_include_pad) and the
 * global pools. An average divides the window sum by the number of elements counted, worked out
 * in closed form from the output index, so no second reduction is needed.
 */
final class Pool {
    private Pool() {}

    static void pool(OpBuilder b) {
        boolean max = b.node.op().equals("MaxPool");
        long[] y = b.outDims(0);
        long[] kernel = b.node.attrInts("kernel_shape", null);
        if (kernel == null) throw b.node.error("attribute kernel_shape is required");
        Placeholder x = b.input(0);
        Windows.Geometry g = Windows.geometry(b, kernel);
        Compute values = window(b, x, g, y, max, false);
        if (max && b.hasOutput(1)) indices(b, x, g, y, values);
    }

    /**
     * MaxPool's Indices: the flat input index (row-major, or column-major over the spatial
     * dimensions with storage_order=1) of each window's maximum, the first in window order when
     * several taps hold it (as ONNX Runtime scans). A min reduction finds the tap, then its
     * position is worked out from the output index.
     */
    private static void indices(OpBuilder b, Placeholder x, Windows.Geometry g, long[] y, Compute values) {
        int sp = g.rank();
        boolean columnMajor = b.node.attrInt("storage_order", 0) != 0;
        List<Expr.Var> rk = new ArrayList<>();
        List<Long> rext = new ArrayList<>();
        for (int d = 0; d < sp; d++) {
            rk.add(b.reduceAxis("ik" + d));
            rext.add(g.kernel()[d]);
        }
        long taps = Idx.numel(g.kernel());
        // The window-order rank of the first tap inside the input that holds the maximum.
        Compute first = Te.compute(b.name(b.outName(1) + "_tap"), ScalarType.I64, Te.box(y), ax -> {
            List<Expr> xi = new ArrayList<>(List.of(ax.get(0), ax.get(1)));
            List<Expr> inside = new ArrayList<>();
            Expr rank = Idx.c(0);
            for (int d = 0; d < sp; d++) {
                Expr pos = Idx.window(ax.get(d + 2), g.strides()[d], rk.get(d), g.dilations()[d], -g.padsBegin()[d]);
                inside.add(Idx.within(pos, 0, g.in()[d]));
                xi.add(Idx.clamp(pos, 0, g.in()[d] - 1));
                rank = Exprs.add(Idx.mul(rank, g.kernel()[d]), rk.get(d));
            }
            Expr hit = Exprs.and(Idx.all(inside), Idx.cmp(dev.kiln.irlow.expr.CmpOp.EQ, Te.read(x, xi), Te.read(values, ax)));
            return Te.min(Exprs.select(hit, rank, Idx.c(taps)), rk, rext);
        });
        b.output(1, Te.compute(b.outName(1), ScalarType.I64, Te.box(y), ax -> {
            Expr r = Idx.clamp(Te.read(first, ax), 0, taps - 1);
            long[] in = g.in();
            Expr[] pos = new Expr[sp];
            for (int d = sp - 1; d >= 0; d--) {
                Expr k = Exprs.mod(r, Idx.c(g.kernel()[d]));
                r = Exprs.div(r, Idx.c(g.kernel()[d]));
                pos[d] = Idx.window(ax.get(d + 2), g.strides()[d], k, g.dilations()[d], -g.padsBegin()[d]);
            }
            Expr spatial = Idx.c(0);
            if (columnMajor) for (int d = sp - 1; d >= 0; d--) spatial = Exprs.add(Idx.mul(spatial, in[d]), pos[d]);
            else for (int d = 0; d < sp; d++) spatial = Exprs.add(Idx.mul(spatial, in[d]), pos[d]);
            Expr plane = Exprs.add(Idx.mul(ax.get(0), y[1]), ax.get(1));
            return Exprs.add(Idx.mul(plane, Idx.numel(in)), spatial);
        }));
    }

    /**
     * The window reduction of a pool over {@code x} (blocked with a trailing lane axis when
     * {@code lanes}) into output dims {@code y}, and for an average the division by the counted
     * taps, worked out from the output index: the pool's output.
     */
    static Compute window(OpBuilder b, Placeholder x, Windows.Geometry g, long[] y, boolean max, boolean lanes) {
        int sp = g.rank();
        ScalarType t = b.outType(0);
        Expr padValue = max ? lowest(t) : Idx.lit(t, 0);
        Operation xp = Windows.padded(b, x, g, padValue, false, lanes ? x.shape().getLast() : 0);
        List<Expr.Var> rk = new ArrayList<>();
        for (int d = 0; d < sp; d++) rk.add(b.reduceAxis("rk" + d));
        List<Long> rext = new ArrayList<>();
        for (long k : g.kernel()) rext.add(k);

        Compute window = Te.compute(max ? b.outName(0) : b.name("pool_sum"), t, Te.box(y), ax -> {
            List<Expr> xi = new ArrayList<>(List.of(ax.get(0), ax.get(1)));
            for (int d = 0; d < sp; d++) xi.add(Idx.window(ax.get(d + 2), g.strides()[d], rk.get(d), g.dilations()[d], 0));
            if (lanes) xi.add(ax.getLast());
            Expr v = Te.read(xp, xi);
            return max ? Te.max(v, rk, rext) : Te.sum(v, rk, rext);
        });
        b.tag(window, Template.POOL);
        if (max) {
            b.output(0, window);
            return window;
        }
        boolean includePad = b.node.attrInt("count_include_pad", 0) != 0;
        b.output(0, Te.compute(b.outName(0), t, Te.box(y), ax -> {
            Expr count = null;
            for (int d = 0; d < sp; d++) {
                Expr n = count(g, d, ax.get(d + 2), includePad);
                count = count == null ? n : Exprs.mul(count, n);
            }
            return Exprs.div(Te.read(window, ax), Exprs.cast(t, count));
        }));
        return window;
    }

    /**
     * How many window taps of output position {@code o} fall inside the counted region of
     * dimension d: the input itself, or the input and its pads with count_include_pad (never the
     * extra positions that ceil_mode adds past the end pad). A constant when it is the same for all o.
     */
    static Expr count(Windows.Geometry g, int d, Expr o, boolean includePad) {
        long lo = includePad ? 0 : g.padsBegin()[d];
        long hi = includePad ? g.in()[d] + g.padsBegin()[d] + g.padsEnd()[d] : g.padsBegin()[d] + g.in()[d];
        long s = g.strides()[d], dl = g.dilations()[d], k = g.kernel()[d];
        long first = countAt(0, lo, hi, s, dl, k);
        boolean constant = true;
        for (long i = 1; i < g.out()[d] && constant; i++) constant = countAt(i, lo, hi, s, dl, k) == first;
        if (constant) return Idx.c(first);
        Expr start = Idx.mul(o, s);
        // kmin = max(0, ceil((lo - start) / dl)), kmax = min(k - 1, floor((hi - 1 - start) / dl))
        Expr kmin = Exprs.max(Idx.c(0), Exprs.div(Idx.add(Exprs.sub(Idx.c(lo), start), dl - 1), Idx.c(dl)));
        Expr kmax = Exprs.min(Idx.c(k - 1), Exprs.div(Exprs.sub(Idx.c(hi - 1), start), Idx.c(dl)));
        return Exprs.max(Idx.c(0), Idx.add(Exprs.sub(kmax, kmin), 1));
    }

    private static long countAt(long o, long lo, long hi, long s, long dl, long k) {
        long n = 0;
        for (long j = 0; j < k; j++) {
            long p = o * s + j * dl;
            if (p >= lo && p < hi) n++;
        }
        return n;
    }

    /** GlobalAveragePool and GlobalMaxPool: a reduction over all spatial elements, seen as one flat axis. */
    static void global(OpBuilder b) {
        boolean max = b.node.op().equals("GlobalMaxPool");
        long[] xd = b.inDims(0);
        long nc = xd[0] * xd[1], hw = Idx.numel(xd) / Math.max(nc, 1);
        ScalarType t = b.outType(0);
        Placeholder x = b.input(0, new long[] {xd[0], xd[1], hw});
        List<Long> shape = List.of(xd[0], xd[1]);
        Compute red = RowReduce.of(b, max ? b.outName(0) : b.name("pool_sum"), t, new long[] {xd[0], xd[1]},
                max ? Expr.ReduceOp.MAX : Expr.ReduceOp.SUM, hw, (ax, r) -> Te.read(x, ax.get(0), ax.get(1), r));
        if (max) {
            b.output(0, red);
            return;
        }
        b.output(0, Te.compute(b.outName(0), t, shape, ax -> Exprs.div(Te.read(red, ax), Idx.lit(t, hw))));
    }

    /** The identity of max for a type: -inf for floats, the smallest value for integers. */
    static Expr lowest(ScalarType t) {
        if (t.isFloat) return Exprs.constant(t, Double.NEGATIVE_INFINITY);
        long v = !t.isSigned ? 0 : t.bits == 64 ? Long.MIN_VALUE : -(1L << (t.bits - 1));
        return Exprs.intImm(t, v);
    }
}
