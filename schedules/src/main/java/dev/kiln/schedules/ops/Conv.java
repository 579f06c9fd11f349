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

    static void conv(OpBuilder b) {
        long[] w = b.inDims(1), y = b.outDims(0);
        int sp = w.length - 2;
        long[] kernel = Arrays.copyOfRange(w, 2, w.length);
        Windows.Geometry g = Windows.geometry(b, kernel);
        long group = b.node.attrInt("group", 1);
        long m = w[0], cg = w[1], mg = m / group;
        ScalarType t = b.outType(0);

        Placeholder x = b.input(0), wt = b.input(1);
        Operation xp = Windows.padded(b, x, g, Idx.lit(t, 0), true);
        Expr.Var ci = b.reduceAxis("rc");
        List<Expr.Var> rk = new ArrayList<>();
        for (int d = 0; d < sp; d++) rk.add(b.reduceAxis("rk" + d));
        List<Expr.Var> raxes = new ArrayList<>(List.of(ci));
        raxes.addAll(rk);
        List<Long> rext = new ArrayList<>(List.of(cg));
        for (long k : kernel) rext.add(k);

        boolean bias = b.node.hasInput(2);
        String name = bias ? b.name("conv") : b.outName(0);
        Compute conv = Te.compute(name, t, Te.box(y), ax -> {
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
        b.output(0, Te.compute(b.outName(0), t, Te.box(y), ax -> Exprs.add(Te.read(conv, ax), Te.read(bs, ax.get(1)))));
    }
}
