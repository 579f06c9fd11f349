package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.List;

/**
 * Softmax, LogSoftmax and LayerNormalization: row statistics as materialized reductions over
 * the {@code mid} axes of an {@link AxisView}, then one elementwise nest over the whole tensor.
 */
final class Normalization {
    private Normalization() {}

    /**
     * Softmax and LogSoftmax, max-subtracted: {@code y = exp(x - max) / sum(exp(x - max))}. From
     * opset 13 the reduction is over {@code axis} alone (default -1); before, over every axis from
     * {@code axis} (default 1) on, the input being seen as 2-D.
     */
    static void softmax(OpBuilder b) {
        boolean log = b.node.op().equals("LogSoftmax");
        boolean modern = b.node.opset() >= 13;
        long[] x = b.inDims(0);
        int r = x.length;
        int a = b.axis(b.node.attrInt("axis", modern ? -1 : 1), r);
        AxisView v = AxisView.around(x, a, modern ? a + 1 : r);
        ScalarType t = b.outType(0);
        Placeholder px = b.input(0, v.shape());
        Compute max = reduce(b, "max", t, v, Expr.ReduceOp.MAX, (ax, ri) -> Te.read(px, v.at(v.keptOuterOf(ax), ri, v.keptInnerOf(ax))));
        Compute sum = reduce(b, "sum", t, v, Expr.ReduceOp.SUM, (ax, ri) ->
                Exprs.call(Intrinsic.EXP, Exprs.sub(Te.read(px, v.at(v.keptOuterOf(ax), ri, v.keptInnerOf(ax))), Te.read(max, ax))));
        b.output(0, Te.compute(b.outName(0), t, Te.box(v.shape()), ax -> {
            List<Expr> k = v.keptAt(v.outerOf(ax), v.innerOf(ax));
            Expr d = Exprs.sub(Te.read(px, ax), Te.read(max, k));
            return log ? Exprs.sub(d, Exprs.call(Intrinsic.LOG, Te.read(sum, k)))
                    : Exprs.div(Exprs.call(Intrinsic.EXP, d), Te.read(sum, k));
        }));
    }

    /**
     * LayerNormalization over the axes from {@code axis} on: mean and variance as two reductions
     * (the variance of the centred values, for accuracy), then {@code (x - mean) * rstd * scale + bias}.
     * The optional Mean and InvStdDev outputs are computed first so the main output reads them.
     */
    static void layerNorm(OpBuilder b) {
        long[] x = b.inDims(0);
        int r = x.length;
        int a = b.axis(b.node.attrInt("axis", -1), r);
        AxisView v = AxisView.around(x, a, r);
        long n = v.mid();
        double eps = b.node.attrFloat("epsilon", 1e-5f);
        ScalarType t = b.outType(0);
        Placeholder px = b.input(0, v.shape());
        Placeholder scale = rowParam(b, 1, n), bias = b.node.hasInput(2) ? rowParam(b, 2, n) : null;
        long[] kept = v.keptShape();

        Compute sum = reduce(b, "sum", t, v, Expr.ReduceOp.SUM, (ax, ri) -> Te.read(px, v.at(v.keptOuterOf(ax), ri, Idx.c(0))));
        java.util.function.Function<List<? extends Expr>, Expr> mean = k -> Exprs.div(Te.read(sum, k), Idx.lit(t, n));
        Compute sq = reduce(b, "sqsum", t, v, Expr.ReduceOp.SUM, (ax, ri) -> {
            Expr d = Exprs.sub(Te.read(px, v.at(v.keptOuterOf(ax), ri, Idx.c(0))), mean.apply(ax));
            return Exprs.mul(d, d);
        });
        java.util.function.Function<List<? extends Expr>, Expr> rstdOf = k ->
                Exprs.div(Idx.lit(t, 1), Exprs.call(Intrinsic.SQRT, Exprs.add(Exprs.div(Te.read(sq, k), Idx.lit(t, n)), Idx.lit(t, eps))));

        if (b.hasOutput(1))
            b.output(1, Te.compute(b.outName(1), b.outType(1), Te.box(kept), ax -> Exprs.cast(b.outType(1), mean.apply(ax))));
        Compute rstd;
        if (b.hasOutput(2)) {
            rstd = Te.compute(b.outName(2), b.outType(2), Te.box(kept), ax -> Exprs.cast(b.outType(2), rstdOf.apply(ax)));
            b.output(2, rstd);
        } else {
            rstd = b.materialize("rstd", t, kept, rstdOf::apply);
        }
        b.output(0, Te.compute(b.outName(0), t, Te.box(v.shape()), ax -> {
            List<Expr> k = v.keptAt(v.outerOf(ax), Idx.c(0));
            Expr j = v.midOf(ax);
            Expr y = Exprs.mul(Exprs.sub(Te.read(px, ax), mean.apply(k)), Exprs.cast(t, Te.read(rstd, k)));
            y = Exprs.mul(y, Te.read(scale, scale.shape().get(0) == 1 ? Idx.c(0) : j));
            return bias == null ? y : Exprs.add(y, Te.read(bias, bias.shape().get(0) == 1 ? Idx.c(0) : j));
        }));
    }

    /**
     * {@code name[kept] = op over the mid axis of v}: in vector lanes when mid is the innermost
     * axis ({@link RowReduce}), else one reduction (its schedule vectorizes the inner axis instead).
     */
    private static Compute reduce(OpBuilder b, String name, ScalarType t, AxisView v, Expr.ReduceOp op,
                                  java.util.function.BiFunction<List<? extends Expr>, Expr, Expr> source) {
        if (v.inner() == 1) return RowReduce.of(b, b.name(name), t, v.keptShape(), op, v.mid(), source);
        Expr.Var r = b.reduceAxis("r" + name);
        return Te.compute(b.name(name), t, Te.box(v.keptShape()), ax ->
                new Expr.Reduce(op, source.apply(ax, r), List.of(r), List.of(v.mid())));
    }

    /** Scale or bias of LayerNorm as a flat row of n elements (or one broadcast element). */
    private static Placeholder rowParam(OpBuilder b, int i, long n) {
        long size = b.in(i).shape().numel();
        if (size != n && size != 1) throw b.unsupported("LayerNormalization with a " + b.in(i).shape() + " input " + i + " broadcast within the normalized axes");
        return b.input(i, new long[] {size});
    }
}
