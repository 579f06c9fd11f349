package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Shape;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * ConvTranspose as a gather: output position o of a spatial axis receives input position
 * {@code (o + padBegin - k*dilation) / stride} through tap k when that division is exact and
 * lands inside the input. The reduction over {@code (ci, k...)} selects zero for the other taps;
 * since a select evaluates both sides, the input index is clamped into range. A bias is a second,
 * elementwise nest. Scheduled as a plain reduction.
 */
final class ConvTranspose {
    private ConvTranspose() {}

    static void convTranspose(OpBuilder b) {
        long[] xd = b.inDims(0), wd = b.inDims(1), yd = b.outDims(0);
        var g = dev.kiln.irhigh.ops.ConvTranspose.geometry(b.node, Shape.of(xd), Shape.of(wd));
        int sp = g.rank();
        long group = b.node.attrInt("group", 1), cg = xd[1] / group, mg = wd[1];
        ScalarType t = b.outType(0);
        Placeholder x = b.input(0), w = b.input(1);

        Expr.Var rc = b.reduceAxis("rc");
        List<Expr.Var> rk = new ArrayList<>();
        for (int d = 0; d < sp; d++) rk.add(b.reduceAxis("rk" + d));
        List<Expr.Var> raxes = new ArrayList<>(List.of(rc));
        raxes.addAll(rk);
        List<Long> rext = new ArrayList<>(List.of(cg));
        for (int k : g.kernel()) rext.add((long) k);

        boolean bias = b.node.hasInput(2);
        Compute y = Te.compute(bias ? b.name("conv_transpose") : b.outName(0), t, Te.box(yd), ax -> {
            Expr co = ax.get(1);
            // Input channel rc of the output channel's group, and co's place within the group.
            Expr chan = group == 1 ? rc : Exprs.add(Idx.mul(Exprs.div(co, Idx.c(mg)), cg), rc);
            Expr wco = group == 1 ? co : Exprs.mod(co, Idx.c(mg));
            List<Expr> xi = new ArrayList<>(List.of(ax.get(0), chan));
            List<Expr> wi = new ArrayList<>(List.of(chan, wco));
            List<Expr> valid = new ArrayList<>();
            for (int d = 0; d < sp; d++) {
                long s = g.strides()[d], in = g.in()[d];
                Expr p = Exprs.sub(Idx.add(ax.get(d + 2), g.padBegin()[d]), Idx.mul(rk.get(d), g.dilations()[d]));
                Expr q = p;
                if (s > 1) {
                    valid.add(Idx.cmp(CmpOp.EQ, Exprs.mod(p, Idx.c(s)), Idx.c(0)));
                    q = Exprs.div(p, Idx.c(s));
                }
                valid.add(Idx.within(q, 0, in));
                xi.add(Idx.clamp(q, 0, in - 1));
                wi.add(rk.get(d));
            }
            Expr prod = Exprs.mul(Te.read(x, xi), Te.read(w, wi));
            return Te.sum(Exprs.select(Idx.all(valid), prod, Idx.lit(t, 0)), raxes, rext);
        });
        if (!bias) {
            b.output(0, y);
            return;
        }
        Placeholder bs = b.input(2);
        b.output(0, Te.compute(b.outName(0), t, Te.box(yd), ax -> Exprs.add(Te.read(y, ax), Te.read(bs, ax.get(1)))));
    }
}
