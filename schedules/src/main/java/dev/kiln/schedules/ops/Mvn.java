package dev.kiln.schedules.ops;

import dev.kiln.irhigh.ops.MeanVarianceNormalization;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * MeanVarianceNormalization: the sums of x and x^2 over the normalized axes (two reductions
 * into tensors that keep those axes as 1), then {@code (x - mean) / (sqrt(E[x^2] - mean^2) + eps)}.
 */
final class Mvn {
    private Mvn() {}

    static void mvn(OpBuilder b) {
        long[] x = b.inDims(0);
        int[] axes = MeanVarianceNormalization.axes(b.node, x.length);
        boolean[] reduced = new boolean[x.length];
        long count = 1;
        for (int a : axes) {
            reduced[a] = true;
            count *= x[a];
        }
        long[] kept = x.clone();
        for (int a : axes) kept[a] = 1;
        ScalarType t = b.outType(0);
        Placeholder px = b.input(0);
        double inv = 1.0 / count;
        java.util.function.BiFunction<String, Boolean, Compute> moment = (name, squared) -> {
            List<Expr.Var> vars = new ArrayList<>();
            List<Long> ext = new ArrayList<>();
            for (int a : axes) {
                vars.add(b.reduceAxis("r" + a));
                ext.add(x[a]);
            }
            return Te.compute(b.name(b.outName(0) + name), t, Te.box(kept), ax -> {
                List<Expr> at = new ArrayList<>();
                int k = 0;
                for (int d = 0; d < x.length; d++) at.add(reduced[d] ? vars.get(k++) : ax.get(d));
                Expr v = Te.read(px, at);
                return Te.sum(Exprs.mul(squared ? Exprs.mul(v, v) : v, Idx.lit(t, inv)), vars, ext);
            });
        };
        Compute mean = moment.apply("_mean", false), square = moment.apply("_square", true);
        b.output(0, Te.compute(b.outName(0), t, Te.box(x), ax -> {
            List<Expr> at = new ArrayList<>();
            for (int d = 0; d < x.length; d++) at.add(reduced[d] ? Idx.c(0) : ax.get(d));
            Expr m = Te.read(mean, at), var = Exprs.sub(Te.read(square, at), Exprs.mul(m, m));
            Expr std = Exprs.add(Exprs.call(Intrinsic.SQRT, var), Idx.lit(t, MeanVarianceNormalization.EPSILON));
            return Exprs.div(Exprs.sub(Te.read(px, ax), m), std);
        }));
    }
}
