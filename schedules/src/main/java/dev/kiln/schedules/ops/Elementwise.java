package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Elementwise ops: unary math and activations, binary and variadic arithmetic with numpy
 * broadcasting, comparisons and logic, Clip, Where, Cast, BatchNormalization in inference form,
 * and Expand. Each is one compute over the merged broadcast shape (see {@link Broadcast}).
 */
final class Elementwise {
    private Elementwise() {}

    /**
     * Output 0 = {@code f(inputs...)}, where input {@code inputs[k]} is right-aligned to the output
     * (numpy) unless {@code aligned[k]} gives its dimensions at the output's rank.
     */
    static Compute map(OpBuilder b, int[] inputs, long[][] aligned, ScalarType outType, Function<List<Expr>, Expr> f) {
        long[] out = b.outDims(0);
        List<long[]> al = new ArrayList<>();
        for (int k = 0; k < inputs.length; k++)
            al.add(aligned != null && aligned[k] != null ? aligned[k] : Broadcast.align(b.inDims(inputs[k]), out.length));
        Broadcast bc = Broadcast.of(out, al);
        List<Placeholder> ps = new ArrayList<>();
        for (int k = 0; k < inputs.length; k++) ps.add(b.input(inputs[k], bc.ins().get(k)));
        Compute c = Te.compute(b.outName(0), outType, Te.box(bc.out()), ax -> {
            List<Expr> args = new ArrayList<>();
            for (int k = 0; k < inputs.length; k++) args.add(bc.read(ps.get(k), k, ax));
            return f.apply(args);
        });
        b.output(0, c);
        return c;
    }

    static void unary(OpBuilder b) {
        map(b, new int[] {0}, null, b.outType(0), a -> unaryFn(b.node, a.get(0)));
    }

    /** The scalar function of a one-input elementwise op. */
    static Expr unaryFn(Node n, Expr x) {
        return switch (n.op()) {
            case "Relu" -> Exprs.max(x, Idx.lit(x, 0));
            case "Neg" -> Exprs.sub(Idx.lit(x, 0), x);
            case "Abs" -> abs(x);
            case "Sigmoid" -> Exprs.call(Intrinsic.SIGMOID, x);
            case "Tanh" -> Exprs.call(Intrinsic.TANH, x);
            case "Erf" -> Exprs.call(Intrinsic.ERF, x);
            case "Exp" -> Exprs.call(Intrinsic.EXP, x);
            case "Log" -> Exprs.call(Intrinsic.LOG, x);
            case "Sqrt" -> Exprs.call(Intrinsic.SQRT, x);
            case "Floor" -> Exprs.call(Intrinsic.FLOOR, x);
            case "Ceil" -> Exprs.call(Intrinsic.CEIL, x);
            case "Reciprocal" -> Exprs.div(Idx.lit(x, 1), x);
            case "Not" -> new Expr.Not(x);
            case "LeakyRelu" -> Exprs.select(Exprs.ge(x, Idx.lit(x, 0)), x, Exprs.mul(Idx.lit(x, n.attrFloat("alpha", 0.01f)), x));
            case "HardSigmoid" -> clamp01(Exprs.add(Exprs.mul(Idx.lit(x, n.attrFloat("alpha", 0.2f)), x), Idx.lit(x, n.attrFloat("beta", 0.5f))));
            case "HardSwish" -> Exprs.mul(x, clamp01(Exprs.add(Exprs.div(x, Idx.lit(x, 6)), Idx.lit(x, 0.5))));
            case "Identity", "Dropout" -> x;
            default -> MoreUnary.fn(n, x);
        };
    }

    static Expr abs(Expr x) {
        if (x.type().isFloat()) return Exprs.call(Intrinsic.ABS, x);
        return Exprs.select(Exprs.lt(x, Idx.lit(x, 0)), Exprs.sub(Idx.lit(x, 0), x), x);
    }

    private static Expr clamp01(Expr v) {
        return Exprs.max(Exprs.min(v, Idx.lit(v, 1)), Idx.lit(v, 0));
    }

    static void binary(OpBuilder b) {
        Node n = b.node;
        long[][] aligned = null;
        if (n.opset() < 7 && n.attrInt("broadcast", 0) != 0 && n.has("axis")) {
            // Before opset 7, B is aligned with A from `axis` on, padded with trailing 1s.
            int rank = b.outDims(0).length;
            int axis = b.axis(n.attrInt("axis", 0), rank);
            long[] bd = b.inDims(1), al = new long[rank];
            Arrays.fill(al, 1);
            System.arraycopy(bd, 0, al, axis, bd.length);
            aligned = new long[][] {null, al};
        }
        map(b, new int[] {0, 1}, aligned, b.outType(0), a -> binaryFn(n, a.get(0), a.get(1)));
    }

    static Expr binaryFn(Node n, Expr x, Expr y) {
        boolean isFloat = x.type().isFloat();
        return switch (n.op()) {
            case "Add" -> Exprs.add(x, y);
            case "Sub" -> Exprs.sub(x, y);
            case "Mul" -> Exprs.mul(x, y);
            case "Div" -> isFloat || !x.type().scalar().isSigned ? Exprs.div(x, y) : truncDiv(x, y);
            case "Pow" -> pow(x, y);
            case "Equal" -> Idx.cmp(CmpOp.EQ, x, y);
            case "Less" -> Idx.cmp(CmpOp.LT, x, y);
            case "LessOrEqual" -> Idx.cmp(CmpOp.LE, x, y);
            case "Greater" -> Idx.cmp(CmpOp.GT, x, y);
            case "GreaterOrEqual" -> Idx.cmp(CmpOp.GE, x, y);
            case "And" -> Exprs.and(x, y);
            case "Or" -> new Expr.Or(x, y);
            case "Xor" -> Idx.cmp(CmpOp.NE, x, y);
            case "PRelu" -> Exprs.select(Exprs.lt(x, Idx.lit(x, 0)), Exprs.mul(y, x), x);
            default -> throw n.error("no native kernel for op " + n.op() + " yet");
        };
    }

    /** Integer division truncating toward zero (ONNX and C), from the IR's floor division. */
    private static Expr truncDiv(Expr x, Expr y) {
        Expr q = Exprs.div(x, y);
        Expr zero = Idx.lit(x, 0);
        Expr inexact = Idx.cmp(CmpOp.NE, Exprs.mod(x, y), zero);
        Expr signsDiffer = Idx.cmp(CmpOp.NE, Exprs.lt(x, zero), Exprs.lt(y, zero));
        return Exprs.select(Exprs.and(inexact, signsDiffer), Exprs.add(q, Idx.lit(x, 1)), q);
    }

    /** Pow with the base's type; integer powers go through double, exact for results below 2^53. */
    private static Expr pow(Expr x, Expr y) {
        ScalarType t = x.type().scalar();
        if (t.isFloat) return Exprs.call(Intrinsic.POW, x, Exprs.cast(t, y));
        Expr p = Exprs.call(Intrinsic.POW, Exprs.cast(ScalarType.F64, x), Exprs.cast(ScalarType.F64, y));
        return Exprs.cast(t, p);
    }

    /** Sum, Mean, Max, Min over any number of broadcast inputs. */
    static void variadic(OpBuilder b) {
        Node n = b.node;
        int[] ins = new int[n.inputs().size()];
        for (int k = 0; k < ins.length; k++) ins[k] = k;
        map(b, ins, null, b.outType(0), a -> {
            Expr r = a.get(0);
            for (int k = 1; k < a.size(); k++) {
                Expr v = a.get(k);
                r = switch (n.op()) {
                    case "Sum", "Mean" -> Exprs.add(r, v);
                    case "Max" -> Exprs.max(r, v);
                    default -> Exprs.min(r, v);
                };
            }
            return n.op().equals("Mean") ? Exprs.div(r, Idx.lit(r, a.size())) : r;
        });
    }

    /** Clip: bounds from attributes (before opset 11) or scalar inputs, folded when constant. */
    static void clip(OpBuilder b) {
        Node n = b.node;
        ScalarType t = b.inType(0);
        List<Integer> runtime = new ArrayList<>(List.of(0));
        Double lo = null, hi = null;
        if (n.opset() < 11) {
            lo = (double) n.attrFloat("min", -Float.MAX_VALUE);
            hi = (double) n.attrFloat("max", Float.MAX_VALUE);
        } else {
            for (int i = 1; i <= 2; i++) {
                if (!n.hasInput(i)) continue;
                Tensor c = b.constant(i);
                if (c == null) runtime.add(i);
                else if (i == 1) lo = c.getDouble(0);
                else hi = c.getDouble(0);
            }
        }
        int[] ins = runtime.stream().mapToInt(Integer::intValue).toArray();
        long[][] aligned = new long[ins.length][];
        for (int k = 1; k < ins.length; k++) aligned[k] = Broadcast.align(new long[0], b.outDims(0).length);
        Double flo = lo, fhi = hi;
        map(b, ins, aligned, t, a -> {
            Expr x = a.get(0);
            Expr min = flo != null ? Idx.lit(t, flo) : n.hasInput(1) && runtime.contains(1) ? a.get(runtime.indexOf(1)) : null;
            Expr max = fhi != null ? Idx.lit(t, fhi) : n.hasInput(2) && runtime.contains(2) ? a.get(runtime.indexOf(2)) : null;
            if (min != null) x = Exprs.max(x, min);
            if (max != null) x = Exprs.min(x, max);
            return x;
        });
    }

    static void where(OpBuilder b) {
        map(b, new int[] {0, 1, 2}, null, b.outType(0), a -> Exprs.select(a.get(0), a.get(1), a.get(2)));
    }

    /** Cast: float to integer truncates toward zero; to bool is "not zero". */
    static void cast(OpBuilder b) {
        ScalarType to = b.outType(0);
        map(b, new int[] {0}, null, to, a -> {
            Expr x = a.get(0);
            if (to == ScalarType.BOOL) return Idx.cmp(CmpOp.NE, x, Idx.lit(x, 0));
            return Exprs.cast(to, x);
        });
    }

    /** BatchNormalization in inference form: per-channel (axis 1) affine of the normalized input. */
    static void batchNorm(OpBuilder b) {
        Node n = b.node;
        if (n.attrInt("training_mode", 0) != 0 || b.hasOutput(1)) throw b.unsupported("BatchNormalization in training mode");
        int rank = b.outDims(0).length;
        long[] ch = new long[rank];
        Arrays.fill(ch, 1);
        if (rank > 1) ch[1] = b.outDims(0)[1];
        double eps = n.attrFloat("epsilon", 1e-5f);
        map(b, new int[] {0, 1, 2, 3, 4}, new long[][] {null, ch, ch, ch, ch}, b.outType(0), a -> {
            Expr x = a.get(0), scale = a.get(1), bias = a.get(2), mean = a.get(3), var = a.get(4);
            Expr inv = Exprs.div(scale, Exprs.call(Intrinsic.SQRT, Exprs.add(var, Idx.lit(var, eps))));
            return Exprs.add(Exprs.mul(Exprs.sub(x, mean), inv), bias);
        });
    }

    /** Expand: a broadcast copy to the (inferred) output shape. */
    static void expand(OpBuilder b) {
        map(b, new int[] {0}, null, b.outType(0), a -> a.get(0));
    }

    /**
     * Ops whose output holds the input's elements in the same row-major order (Reshape, Flatten,
     * Squeeze, Unsqueeze, Identity, Dropout): a flat copy. Dropout's optional mask is all true.
     */
    static void copy(OpBuilder b) {
        long n = b.in(0).shape().numel();
        Placeholder x = b.input(0, new long[] {n});
        b.output(0, Te.compute(b.outName(0), b.outType(0), List.of(n), ax -> Te.read(x, ax.get(0))));
        if (b.node.op().equals("Dropout") && b.hasOutput(1))
            b.output(1, Te.compute(b.outName(1), b.outType(1), List.of(n), ax -> Idx.lit(b.outType(1), 1)));
    }

    /** ConstantOfShape: every element is the {@code value} attribute (float 0 by default). */
    static void constantOfShape(OpBuilder b) {
        Tensor v = b.node.attrTensor("value");
        ScalarType t = b.outType(0);
        double x = v == null ? 0 : v.getDouble(0);
        Expr e = t.isFloat ? Exprs.constant(t, x) : Exprs.intImm(t, v == null ? 0 : v.getLong(0));
        long n = b.out(0).shape().numel();
        b.output(0, Te.compute(b.outName(0), t, List.of(n), ax -> e));
    }
}
