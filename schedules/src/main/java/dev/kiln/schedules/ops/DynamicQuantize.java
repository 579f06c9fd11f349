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

/**
 * DynamicQuantizeLinear: the tensor's min and max as two whole-tensor reductions, from which
 * each output recomputes the scale and zero point (a few scalar operations) as the ir-high
 * definition does, in float32 (scale 1 for a tensor of zeros, as ONNX Runtime does).
 */
final class DynamicQuantize {
    private DynamicQuantize() {}

    static void dynamicQuantizeLinear(OpBuilder b) {
        long[] x = b.inDims(0);
        long n = Idx.numel(x);
        Placeholder flat = b.input(0, new long[] {n});
        Compute lo = extreme(b, flat, n, false), hi = extreme(b, flat, n, true);
        ScalarType f = ScalarType.F32;
        Expr zero = Idx.lit(f, 0), top = Idx.lit(f, 255);
        Expr mn = Exprs.min(Te.read(lo, Idx.c(0)), zero), mx = Exprs.max(Te.read(hi, Idx.c(0)), zero);
        // A tensor of zeros has no range: ONNX Runtime quantizes it with scale 1 (the formula would divide by 0).
        Expr range = Exprs.sub(mx, mn);
        Expr scale = Exprs.select(Exprs.cmp(CmpOp.EQ, range, zero), Idx.lit(f, 1), Exprs.div(range, top));
        Expr zp = Exprs.call(Intrinsic.ROUND_EVEN, Exprs.min(Exprs.max(Exprs.sub(zero, Exprs.div(mn, scale)), zero), top));
        ScalarType u8 = b.outType(0);
        // y over the flat view too: the output is bound by element count.
        b.output(0, Te.compute(b.outName(0), u8, Te.box(n), ax -> {
            Expr q = Exprs.add(Exprs.call(Intrinsic.ROUND_EVEN, Exprs.div(Te.read(flat, ax), scale)), zp);
            return Exprs.cast(u8, Exprs.min(Exprs.max(q, zero), top));
        }));
        if (b.hasOutput(1)) b.output(1, Te.compute(b.outName(1), f, Te.box(1), ax -> scale));
        if (b.hasOutput(2)) b.output(2, Te.compute(b.outName(2), b.outType(2), Te.box(1), ax -> Exprs.cast(b.outType(2), zp)));
    }

    private static Compute extreme(OpBuilder b, Placeholder flat, long n, boolean max) {
        Expr.Var r = b.reduceAxis(max ? "dq_max" : "dq_min");
        return Te.compute(b.name(b.outName(0) + (max ? "_max" : "_min")), ScalarType.F32, Te.box(1), ax -> {
            Expr v = Te.read(flat, r);
            return max ? Te.max(v, List.of(r), List.of(n)) : Te.min(v, List.of(r), List.of(n));
        });
    }
}
