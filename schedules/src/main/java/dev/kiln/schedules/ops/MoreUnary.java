package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;

/**
 * The scalar functions of the less common one-input ops: trigonometry, Softplus and its
 * relatives, the exponential linear units, Round and Sign. {@link Elementwise#unaryFn} falls
 * back here.
 */
final class MoreUnary {
    private MoreUnary() {}

    static Expr fn(Node n, Expr x) {
        return switch (n.op()) {
            case "Sin" -> Exprs.call(Intrinsic.SIN, x);
            case "Cos" -> Exprs.call(Intrinsic.COS, x);
            case "Tan" -> Exprs.call(Intrinsic.TAN, x);
            case "Asin" -> Exprs.call(Intrinsic.ASIN, x);
            case "Acos" -> Exprs.call(Intrinsic.ACOS, x);
            case "Atan" -> Exprs.call(Intrinsic.ATAN, x);
            case "Sinh" -> Exprs.call(Intrinsic.SINH, x);
            case "Cosh" -> Exprs.call(Intrinsic.COSH, x);
            case "Asinh" -> Exprs.call(Intrinsic.ASINH, x);
            case "Acosh" -> Exprs.call(Intrinsic.ACOSH, x);
            case "Atanh" -> Exprs.call(Intrinsic.ATANH, x);
            case "Round" -> Exprs.call(Intrinsic.ROUND_EVEN, x);
            case "Softplus" -> softplus(x);
            case "Softsign" -> Exprs.div(x, Exprs.add(Idx.lit(x, 1), Elementwise.abs(x)));
            case "Mish" -> Exprs.mul(x, Exprs.call(Intrinsic.TANH, softplus(x)));
            case "Sign" -> Exprs.select(Idx.cmp(CmpOp.GT, x, Idx.lit(x, 0)), Idx.lit(x, 1),
                    Exprs.select(Exprs.lt(x, Idx.lit(x, 0)), Idx.lit(x, -1), Idx.lit(x, 0)));
            case "Elu" -> Exprs.select(Exprs.lt(x, Idx.lit(x, 0)), Exprs.mul(Idx.lit(x, n.attrFloat("alpha", 1f)), expm1(x)), x);
            case "Selu" -> {
                Expr alpha = Idx.lit(x, n.attrFloat("alpha", 1.67326319217681884765625f));
                Expr gamma = Idx.lit(x, n.attrFloat("gamma", 1.05070102214813232421875f));
                yield Exprs.mul(gamma, Exprs.select(Idx.cmp(CmpOp.LE, x, Idx.lit(x, 0)), Exprs.mul(alpha, expm1(x)), x));
            }
            case "Celu" -> {
                double alpha = n.attrFloat("alpha", 1f);
                Expr neg = Exprs.mul(Idx.lit(x, alpha), expm1(Exprs.div(x, Idx.lit(x, alpha))));
                yield Exprs.add(Exprs.max(x, Idx.lit(x, 0)), Exprs.min(neg, Idx.lit(x, 0)));
            }
            case "ThresholdedRelu" -> Exprs.select(Idx.cmp(CmpOp.GT, x, Idx.lit(x, n.attrFloat("alpha", 1f))), x, Idx.lit(x, 0));
            case "Shrink" -> {
                double lambd = n.attrFloat("lambd", 0.5f), bias = n.attrFloat("bias", 0f);
                yield Exprs.select(Exprs.lt(x, Idx.lit(x, -lambd)), Exprs.add(x, Idx.lit(x, bias)),
                        Exprs.select(Idx.cmp(CmpOp.GT, x, Idx.lit(x, lambd)), Exprs.sub(x, Idx.lit(x, bias)), Idx.lit(x, 0)));
            }
            default -> throw n.error("no native kernel for op " + n.op() + " yet");
        };
    }

    /** log(1 + e^x), exact enough for the inputs where e^x does not overflow, x itself beyond. */
    private static Expr softplus(Expr x) {
        Expr big = Idx.cmp(CmpOp.GT, x, Idx.lit(x, 30));
        return Exprs.select(big, x, Exprs.call(Intrinsic.LOG, Exprs.add(Idx.lit(x, 1), Exprs.call(Intrinsic.EXP, x))));
    }

    private static Expr expm1(Expr x) {
        return Exprs.sub(Exprs.call(Intrinsic.EXP, x), Idx.lit(x, 1));
    }

    /** PRelu, with a per-channel slope aligned to axis 1 before opset 7 (see the ir-high definition). */
    static void prelu(OpBuilder b) {
        long[] x = b.inDims(0);
        long[] slope = dev.kiln.irhigh.ops.PRelu.slopeShape(b.node, dev.kiln.irhigh.Shape.of(x), dev.kiln.irhigh.Shape.of(b.inDims(1))).longDims();
        long[][] aligned = {null, Broadcast.align(slope, x.length)};
        Elementwise.map(b, new int[] {0, 1}, aligned, b.outType(0), a -> Elementwise.binaryFn(b.node, a.get(0), a.get(1)));
    }

    /** Mod: floor remainder (the IR's Mod) for fmod=0, truncated remainder (C's fmod) for fmod=1. */
    static void mod(OpBuilder b) {
        boolean fmod = b.node.attrInt("fmod", 0) != 0;
        Elementwise.map(b, new int[] {0, 1}, null, b.outType(0), a -> {
            Expr x = a.get(0), y = a.get(1);
            if (x.type().isFloat()) {
                Expr q = Exprs.div(x, y);
                Expr trunc = Exprs.select(Exprs.lt(q, Idx.lit(q, 0)), Exprs.call(Intrinsic.CEIL, q), Exprs.call(Intrinsic.FLOOR, q));
                return Exprs.sub(x, Exprs.mul(y, trunc));
            }
            Expr m = Exprs.mod(x, y);
            if (!fmod || !x.type().scalar().isSigned) return m;
            // The floor remainder has y's sign; where x's differs and it is not 0, C's is m - y.
            Expr zero = Idx.lit(x, 0);
            Expr fix = Exprs.and(Idx.cmp(CmpOp.NE, m, zero), Idx.cmp(CmpOp.NE, Exprs.lt(x, zero), Exprs.lt(y, zero)));
            return Exprs.select(fix, Exprs.sub(m, y), m);
        });
    }
}
