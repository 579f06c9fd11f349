package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/** LRN: the channel-window sum of squares as a reduction (out-of-range channels masked), then the scaling. */
final class Lrn {
    private Lrn() {}

    static void lrn(OpBuilder b) {
        long[] x = b.inDims(0);
        long size = b.node.attrInt("size", 0), c = x[1], lo = (size - 1) / 2;
        double alpha = b.node.attrFloat("alpha", 1e-4f), beta = b.node.attrFloat("beta", 0.75f), bias = b.node.attrFloat("bias", 1f);
        Placeholder px = b.input(0);
        ScalarType t = b.outType(0);
        Expr.Var k = b.reduceAxis("lk");
        Compute sq = Te.compute(b.name(b.outName(0) + "_sq"), t, Te.box(x), ax -> {
            Expr ch = Exprs.add(Idx.add(ax.get(1), -lo), k);
            List<Expr> at = new ArrayList<>(ax);
            at.set(1, Idx.clamp(ch, 0, c - 1));
            Expr v = Te.read(px, at);
            return Te.sum(Exprs.select(Idx.within(ch, 0, c), Exprs.mul(v, v), Idx.lit(t, 0)), List.of(k), List.of(size));
        });
        b.output(0, Te.compute(b.outName(0), t, Te.box(x), ax -> {
            Expr d = Exprs.add(Idx.lit(t, bias), Exprs.mul(Idx.lit(t, alpha / size), Te.read(sq, ax)));
            return Exprs.div(Te.read(px, ax), Exprs.call(Intrinsic.POW, d, Idx.lit(t, beta)));
        }));
    }
}
