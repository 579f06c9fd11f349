package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.List;

/** InstanceNormalization in the view [N, C, D]: per-plane mean, then variance, then the affine output. */
final class InstanceNorm {
    private InstanceNorm() {}

    static void instanceNorm(OpBuilder b) {
        long[] x = b.inDims(0);
        long N = x[0], C = x[1], D = 1;
        for (int i = 2; i < x.length; i++) D *= x[i];
        long d0 = D;
        ScalarType t = b.outType(0);
        Placeholder px = b.input(0, new long[] {N, C, D}), scale = b.input(1), bias = b.input(2);
        Expr.Var rm = b.reduceAxis("rd"), rv = b.reduceAxis("rd");
        Compute sum = Te.compute(b.name("plane_sum"), t, Te.box(new long[] {N, C}),
                ax -> Te.sum(Te.read(px, List.of(ax.get(0), ax.get(1), rm)), List.of(rm), List.of(d0)));
        Compute sq = Te.compute(b.name("plane_sq"), t, Te.box(new long[] {N, C}), ax -> {
            Expr dev = Exprs.sub(Te.read(px, List.of(ax.get(0), ax.get(1), rv)), Exprs.div(Te.read(sum, ax), Idx.lit(t, d0)));
            return Te.sum(Exprs.mul(dev, dev), List.of(rv), List.of(d0));
        });
        double eps = b.node.attrFloat("epsilon", 1e-5f);
        b.output(0, Te.compute(b.outName(0), t, Te.box(new long[] {N, C, D}), ax -> {
            List<Expr> nc = List.of(ax.get(0), ax.get(1));
            Expr mean = Exprs.div(Te.read(sum, nc), Idx.lit(t, d0));
            Expr inv = Exprs.div(Idx.lit(t, 1), Exprs.call(Intrinsic.SQRT, Exprs.add(Exprs.div(Te.read(sq, nc), Idx.lit(t, d0)), Idx.lit(t, eps))));
            Expr norm = Exprs.mul(Exprs.sub(Te.read(px, ax), mean), inv);
            return Exprs.add(Exprs.mul(norm, Te.read(scale, List.of(ax.get(1)))), Te.read(bias, List.of(ax.get(1))));
        }));
    }
}
