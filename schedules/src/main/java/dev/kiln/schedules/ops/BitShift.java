package dev.kiln.schedules.ops;

import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;

/**
 * BitShift and the float classifiers (IsNaN, IsInf): elementwise ops the IR has no direct operator
 * for, written with the arithmetic it has.
 */
final class BitShift {
    private BitShift() {}

    /**
     * x shifted by y bits. The IR has no shift, so 2^y is built from y's binary digits (a product of
     * selected constants 2^(2^j)) and the shift becomes an unsigned multiply or floor divide; a
     * shift by the type's width or more gives 0, as in the ir-high definition.
     */
    static void bitShift(OpBuilder b) {
        boolean left = b.node.attrString("direction", "").equals("LEFT");
        Elementwise.map(b, new int[] {0, 1}, null, b.outType(0), a -> {
            Expr x = a.get(0), y = a.get(1);
            int bits = x.type().scalar().bits;
            Expr factor = null;
            for (int j = 0; (1L << j) < bits; j++) {
                Expr digit = Exprs.mod(Exprs.div(y, Exprs.intImm(y.type().scalar(), 1L << j)), Exprs.intImm(y.type().scalar(), 2));
                Expr f = Exprs.select(Idx.cmp(CmpOp.NE, digit, Idx.lit(y, 0)), Exprs.intImm(x.type().scalar(), 1L << (1L << j)), Idx.lit(x, 1));
                factor = factor == null ? f : Exprs.mul(factor, f);
            }
            Expr shifted = left ? Exprs.mul(x, factor) : Exprs.div(x, factor);
            return Exprs.select(Exprs.lt(y, Exprs.intImm(y.type().scalar(), bits)), shifted, Idx.lit(x, 0));
        });
    }

    /** IsNaN, and IsInf with its detect_positive / detect_negative attributes. */
    static void floatClass(OpBuilder b) {
        boolean nan = b.node.op().equals("IsNaN");
        boolean pos = b.node.attrInt("detect_positive", 1) != 0, neg = b.node.attrInt("detect_negative", 1) != 0;
        Elementwise.map(b, new int[] {0}, null, b.outType(0), a -> {
            Expr x = a.get(0);
            if (!nan && !pos && !neg) return Idx.lit(b.outType(0), 0);
            Expr call = Exprs.call(nan ? Intrinsic.IS_NAN : Intrinsic.IS_INF, x);
            Expr hit = Idx.cmp(CmpOp.NE, call, Idx.lit(call, 0));
            // One sign only: the infinity must also be on that side of zero.
            if (!nan && !(pos && neg)) hit = Exprs.and(hit, pos ? Idx.cmp(CmpOp.GT, x, Idx.lit(x, 0)) : Exprs.lt(x, Idx.lit(x, 0)));
            return Exprs.cast(b.outType(0), hit);
        });
    }
}
