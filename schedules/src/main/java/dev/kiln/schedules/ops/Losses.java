package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.List;
import java.util.function.BiFunction;

/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, in the views input [N, C, D] and target
 * [N, D] (D: the trailing axes merged). SoftmaxCrossEntropyLoss first takes the log-softmax
 * over C (max, then sum of exponentials, per [n, d]).
 */
final class Losses {
    private Losses() {}

    static void loss(OpBuilder b) {
        long[] x = b.inDims(0);
        long N = x[0], C = x[1], D = 1;
        for (int i = 2; i < x.length; i++) D *= x[i];
        long d0 = D;
        ScalarType t = b.outType(0);
        Placeholder px = b.input(0, new long[] {N, C, D}), target = b.input(1, new long[] {N, D});
        Placeholder weight = b.node.hasInput(2) ? b.input(2) : null;
        BiFunction<Expr, List<Expr>, Expr> logp; // (class, [n, d]) -> log-probability
        if (b.node.op().equals("SoftmaxCrossEntropyLoss")) {
            Expr.Var rm = b.reduceAxis("rc"), rs = b.reduceAxis("rc");
            Compute max = Te.compute(b.name("row_max"), t, Te.box(new long[] {N, D}), ax -> new Expr.Reduce(Expr.ReduceOp.MAX,
                    Te.read(px, List.of(ax.get(0), rm, ax.get(1))), List.of(rm), List.of(C)));
            Compute sum = Te.compute(b.name("row_sum"), t, Te.box(new long[] {N, D}), ax -> Te.sum(Exprs.call(Intrinsic.EXP,
                    Exprs.sub(Te.read(px, List.of(ax.get(0), rs, ax.get(1))), Te.read(max, ax))), List.of(rs), List.of(C)));
            Compute lp = Te.compute(b.name("log_prob"), t, Te.box(new long[] {N, C, D}), ax -> {
                List<Expr> nd = List.of(ax.get(0), ax.get(2));
                return Exprs.sub(Exprs.sub(Te.read(px, ax), Te.read(max, nd)), Exprs.call(Intrinsic.LOG, Te.read(sum, nd)));
            });
            if (b.hasOutput(1)) b.output(1, lp);
            logp = (c, nd) -> Te.read(lp, List.of(nd.get(0), c, nd.get(1)));
        } else {
            logp = (c, nd) -> Te.read(px, List.of(nd.get(0), c, nd.get(1)));
        }
        boolean hasIgnore = b.node.has("ignore_index");
        long ignore = b.node.attrInt("ignore_index", 0);
        // The weight of element [n, d]: w[target] (1 without weights), 0 where the target is ignored.
        java.util.function.Function<List<Expr>, Expr> w = nd -> {
            Expr raw = Te.read(target, nd);
            Expr cls = Idx.clamp(Idx.asIndex(raw), 0, C - 1);
            Expr wt = weight == null ? Idx.lit(t, 1) : Te.read(weight, List.of(cls));
            return hasIgnore ? Exprs.select(Idx.cmp(CmpOp.EQ, Idx.asIndex(raw), Idx.c(ignore)), Idx.lit(t, 0), wt) : wt;
        };
        java.util.function.Function<List<Expr>, Expr> loss = nd -> {
            Expr cls = Idx.clamp(Idx.asIndex(Te.read(target, nd)), 0, C - 1);
            return Exprs.mul(Exprs.sub(Idx.lit(t, 0), logp.apply(cls, nd)), w.apply(nd));
        };
        String reduction = b.node.attrString("reduction", "mean");
        if (reduction.equals("none")) {
            b.output(0, Te.compute(b.outName(0), t, Te.box(new long[] {N, D}), ax -> loss.apply(List.of(ax.get(0), ax.get(1)))));
            return;
        }
        Expr.Var rn = b.reduceAxis("rn"), rd = b.reduceAxis("rd");
        boolean mean = reduction.equals("mean");
        Compute total = Te.compute(mean ? b.name("loss_sum") : b.outName(0), t, Te.box(new long[] {1}),
                ax -> Te.sum(loss.apply(List.of(rn, rd)), List.of(rn, rd), List.of(N, d0)));
        if (!mean) {
            b.output(0, total);
            return;
        }
        Expr.Var wn = b.reduceAxis("wn"), wd = b.reduceAxis("wd");
        Compute wsum = Te.compute(b.name("weight_sum"), t, Te.box(new long[] {1}),
                ax -> Te.sum(w.apply(List.of(wn, wd)), List.of(wn, wd), List.of(N, d0)));
        b.output(0, Te.compute(b.outName(0), t, Te.box(new long[] {1}), ax -> Exprs.div(Te.read(total, ax), Te.read(wsum, ax))));
    }
}
