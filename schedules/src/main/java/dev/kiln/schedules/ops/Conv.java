package dev.kiln.schedules.ops;

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
        int sp = v.spatial();
        Windows.Geometry g = v.g();
        long group = b.node.attrInt("group", 1);
        long m = v.w()[0], cg = v.w()[1], mg = m / group;
        ScalarType t = b.outType(0);

        Placeholder x = b.input(0, v.x()), wt = b.input(1, v.w());
        Operation xp = Windows.padded(b, x, g, Idx.lit(t, 0), true);
        Expr.Var ci = b.reduceAxis("rc");
        List<Expr.Var> rk = new ArrayList<>();
        for (int d = 0; d < sp; d++) rk.add(b.reduceAxis("rk" + d));
        List<Expr.Var> raxes = new ArrayList<>(List.of(ci));
        raxes.addAll(rk);
        List<Long> rext = new ArrayList<>(List.of(cg));
        for (long k : g.kernel()) rext.add(k);

        boolean bias = b.node.hasInput(2);
        String name = bias ? b.name("conv") : b.outName(0);
        Compute conv = Te.compute(name, t, Te.box(v.y()), ax -> {
            Expr co = ax.get(1);
            // The input channel of output channel co: its group's first channel plus ci.
            Expr chan = group == 1 ? ci : cg == 1 && mg == 1 ? co : Exprs.add(Idx.mul(Exprs.div(co, Idx.c(mg)), cg), ci);
            List<Expr> xi = new ArrayList<>(List.of(ax.get(0), chan));
            List<Expr> wi = new ArrayList<>(List.of(co, ci));
            for (int d = 0; d < sp; d++) {
                xi.add(Idx.window(ax.get(d + 2), g.strides()[d], rk.get(d), g.dilations()[d], 0));
                wi.add(rk.get(d));
            }
            return Te.sum(Exprs.mul(Te.read(xp, xi), Te.read(wt, wi)), raxes, rext);
        });
        b.tag(conv, Template.CONV);
        if (!bias) {
            b.output(0, conv);
            return;
        }
        Placeholder bs = b.input(2);
        b.output(0, Te.compute(b.outName(0), t, Te.box(v.y()), ax -> Exprs.add(Te.read(conv, ax), Te.read(bs, ax.get(1)))));
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
