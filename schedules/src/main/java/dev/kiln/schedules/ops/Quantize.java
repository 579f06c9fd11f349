package dev.kiln.schedules.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;

/** QuantizeLinear and DequantizeLinear as elementwise maps; a per-channel scale is aligned to its axis. */
final class Quantize {
    private Quantize() {}

    static void quantizeLinear(OpBuilder b) {
        boolean quantize = b.node.op().equals("QuantizeLinear");
        long[] x = b.inDims(0);
        int a = dev.kiln.irhigh.ops.Quantize.scaleAxis(b.node, Shape.of(x), Shape.of(b.inDims(1)));
        long[] aligned = new long[x.length];
        java.util.Arrays.fill(aligned, 1);
        if (a >= 0) aligned[a] = x[a];
        boolean zp = b.node.inputs().size() > 2 && !b.node.input(2).isEmpty();
        int[] ins = zp ? new int[] {0, 1, 2} : new int[] {0, 1};
        long[][] al = zp ? new long[][] {null, aligned, aligned} : new long[][] {null, aligned};
        ScalarType t = b.outType(0);
        Elementwise.map(b, ins, al, t, v -> {
            Expr s = v.get(1);
            ScalarType st = s.type().scalar();
            if (quantize) {
                Expr q = Exprs.call(Intrinsic.ROUND_EVEN, Exprs.div(Exprs.cast(st, v.get(0)), s));
                if (zp) q = Exprs.add(q, Exprs.cast(st, v.get(2)));
                long[] r = dev.kiln.irhigh.ops.Quantize.range(b.out(0).dtype());
                q = Exprs.min(Exprs.max(q, Idx.lit(st, r[0])), Idx.lit(st, r[1]));
                return Exprs.cast(t, q);
            }
            Expr d = zp ? Exprs.sub(Exprs.cast(ScalarType.I32, v.get(0)), Exprs.cast(ScalarType.I32, v.get(2))) : v.get(0);
            return Exprs.mul(Exprs.cast(t, d), s);
        });
    }
}
