package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import java.util.List;

/** Index arithmetic shared by the op computes, folding the trivial cases so the IR stays readable. */
final class Idx {
    private Idx() {}

    static Expr c(long v) {
        return Exprs.idx(v);
    }

    static Expr add(Expr a, long b) {
        return b == 0 ? a : b < 0 ? Exprs.sub(a, c(-b)) : Exprs.add(a, c(b));
    }

    static Expr mul(Expr a, long b) {
        return b == 1 ? a : b == 0 ? c(0) : Exprs.mul(a, c(b));
    }

    /** {@code a * s + b * d + off}, the input index of a sliding window. */
    static Expr window(Expr o, long stride, Expr k, long dilation, long off) {
        return add(Exprs.add(mul(o, stride), mul(k, dilation)), off);
    }

    /** {@code min(max(i, lo), hi)}: keeps a speculative read in bounds. */
    static Expr clamp(Expr i, long lo, long hi) {
        return Exprs.min(Exprs.max(i, c(lo)), c(hi));
    }

    /** {@code lo <= i < hi}. */
    static Expr within(Expr i, long lo, long hi) {
        return Exprs.and(Exprs.ge(i, c(lo)), Exprs.lt(i, c(hi)));
    }

    static Expr all(List<Expr> conds) {
        Expr r = null;
        for (Expr e : conds) r = r == null ? e : Exprs.and(r, e);
        return r;
    }

    /** A constant of the element type of {@code like}. */
    static Expr lit(Expr like, double v) {
        return Exprs.constant(like.type().scalar(), v);
    }

    static Expr lit(ScalarType t, double v) {
        return Exprs.constant(t, v);
    }

    static Expr cmp(CmpOp op, Expr a, Expr b) {
        return Exprs.cmp(op, a, b);
    }

    /** An index read from a tensor of indices (any integer type), widened to the index type. */
    static Expr asIndex(Expr e) {
        return Exprs.cast(ScalarType.I64, e);
    }

    static long numel(long[] dims) {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }
}
