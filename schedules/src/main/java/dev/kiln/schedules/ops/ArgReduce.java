package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.List;

/**
 * Index-driven ops: ArgMax and ArgMin, Trilu, GatherElements. ArgMax and ArgMin are two reductions over the axis: the extreme value, then the smallest (or,
 * with {@code select_last_index}, largest) index holding it. keepdims only shows in the graph.
 */
final class ArgReduce {
    private ArgReduce() {}

    static void argReduce(OpBuilder b) {
        long[] x = b.inDims(0);
        int a = b.axis(b.node.attrInt("axis", 0), x.length);
        boolean max = b.node.op().equals("ArgMax"), last = b.node.attrInt("select_last_index", 0) != 0;
        AxisView v = AxisView.around(x, a, a + 1);
        b.output(0, index(b, v, b.input(0, v.shape()), max, last, b.outName(0)));
    }

    /** Over [outer, inner]: the first (or last) index along the view's mid axis that holds the max (or min). */
    private static Compute index(OpBuilder b, AxisView v, Placeholder px, boolean max, boolean last, String name) {
        long dim = v.mid();
        Expr.Var r1 = b.reduceAxis("rk");
        Compute best = Te.compute(b.name("extreme"), b.inType(0), Te.box(v.keptShape()), ax -> new Expr.Reduce(
                max ? Expr.ReduceOp.MAX : Expr.ReduceOp.MIN, Te.read(px, v.at(v.keptOuterOf(ax), r1, v.keptInnerOf(ax))),
                List.of(r1), List.of(dim)));
        Expr.Var r2 = b.reduceAxis("ri");
        return Te.compute(name, ScalarType.I64, Te.box(v.keptShape()), ax -> {
            Expr hit = Idx.cmp(CmpOp.EQ, Te.read(px, v.at(v.keptOuterOf(ax), r2, v.keptInnerOf(ax))), Te.read(best, ax));
            Expr none = Idx.lit(ScalarType.I64, last ? -1 : dim);
            return new Expr.Reduce(last ? Expr.ReduceOp.MAX : Expr.ReduceOp.MIN, Exprs.select(hit, Exprs.cast(ScalarType.I64, r2), none),
                    List.of(r2), List.of(dim));
        });
    }

    /** Hardmax: 1 where the mid index is the first maximum's, over the ir-high definition's axes. */
    static void hardmax(OpBuilder b) {
        long[] x = b.inDims(0);
        int[] axes = dev.kiln.irhigh.ops.Hardmax.axes(b.node, x.length);
        AxisView v = AxisView.around(x, axes[0], axes[1]);
        Placeholder px = b.input(0, v.shape());
        Compute idx = index(b, v, px, true, false, b.name("argmax"));
        ScalarType t = b.outType(0);
        b.output(0, Te.compute(b.outName(0), t, Te.box(v.shape()), ax -> {
            Expr at = Te.read(idx, v.keptAt(v.outerOf(ax), v.innerOf(ax)));
            return Exprs.select(Idx.cmp(CmpOp.EQ, Exprs.cast(ScalarType.I64, v.midOf(ax)), at), Idx.lit(t, 1), Idx.lit(t, 0));
        }));
    }

    /** EyeLike: ones where column - row == k. */
    static void eyeLike(OpBuilder b) {
        long k = b.node.attrInt("k", 0);
        ScalarType t = b.outType(0);
        b.output(0, Te.compute(b.outName(0), t, Te.box(b.outDims(0)), ax ->
                Exprs.select(Idx.cmp(CmpOp.EQ, Exprs.sub(ax.get(1), ax.get(0)), Idx.c(k)), Idx.lit(t, 1), Idx.lit(t, 0))));
    }

    /** Trilu: the upper (column - row >= k) or lower (column - row <= k) triangle of the last two axes, zeros elsewhere. */
    static void trilu(OpBuilder b) {
        long[] x = b.inDims(0);
        int r = x.length;
        long k = b.node.hasInput(1) ? b.constInts(1, "k")[0] : 0;
        boolean upper = b.node.attrInt("upper", 1) != 0;
        Placeholder px = b.input(0);
        ScalarType t = b.outType(0);
        b.output(0, Te.compute(b.outName(0), t, Te.box(x), ax -> {
            Expr diff = Exprs.sub(ax.get(r - 1), ax.get(r - 2));
            Expr keep = upper ? Exprs.ge(diff, Idx.c(k)) : Idx.cmp(CmpOp.LE, diff, Idx.c(k));
            return Exprs.select(keep, Te.read(px, ax), Idx.lit(t, 0));
        }));
    }

    /** GatherElements: reads data at the output's own position with the axis index taken from indices. */
    static void gatherElements(OpBuilder b) {
        long[] x = b.inDims(0);
        int a = b.axis(b.node.attrInt("axis", 0), x.length);
        Placeholder data = b.input(0), indices = b.input(1);
        long dim = x[a];
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(b.inDims(1)), ax -> {
            Expr i = Idx.asIndex(Te.read(indices, ax));
            i = Exprs.select(Exprs.lt(i, Idx.c(0)), Idx.add(i, dim), i);
            // Out-of-range indices are an error in ONNX; clamping keeps the native kernel's reads in bounds.
            List<Expr> at = new java.util.ArrayList<>(ax);
            at.set(a, Idx.clamp(i, 0, dim - 1));
            return Te.read(data, at);
        }));
    }

    /** CumSum as a masked sum over the axis: out[o, i, n] = sum over k up to i (or after, reversed) of x[o, k, n]. */
    static void cumSum(OpBuilder b) {
        long[] x = b.inDims(0);
        int a = b.axis(b.constInts(1, "axis")[0], x.length);
        boolean exclusive = b.node.attrInt("exclusive", 0) != 0, reverse = b.node.attrInt("reverse", 0) != 0;
        AxisView v = AxisView.around(x, a, a + 1);
        Placeholder px = b.input(0, v.shape());
        ScalarType t = b.outType(0);
        Expr.Var k = b.reduceAxis("rk");
        b.output(0, Te.compute(b.outName(0), t, Te.box(v.shape()), ax -> {
            Expr i = v.midOf(ax);
            CmpOp op = reverse ? (exclusive ? CmpOp.GT : CmpOp.GE) : (exclusive ? CmpOp.LT : CmpOp.LE);
            Expr in = Idx.cmp(op, k, i);
            Expr src = Te.read(px, v.at(v.outerOf(ax), k, v.innerOf(ax)));
            return Te.sum(Exprs.select(in, src, Idx.lit(t, 0)), List.of(k), List.of(v.mid()));
        }));
    }

    /** DepthToSpace and SpaceToDepth: a gather whose source index is the ir-high definition's, in IR. */
    static void spaceDepth(OpBuilder b) {
        boolean toSpace = b.node.op().equals("DepthToSpace"), crd = b.node.attrString("mode", "DCR").equals("CRD");
        long k = b.node.attrInt("blocksize", 0);
        long[] x = b.inDims(0);
        long C = x[1];
        Placeholder px = b.input(0);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(b.outDims(0)), ax -> {
            Expr n = ax.get(0), c = ax.get(1), h = ax.get(2), w = ax.get(3);
            if (toSpace) {
                Expr blk = Exprs.add(Idx.mul(Exprs.mod(h, Idx.c(k)), k), Exprs.mod(w, Idx.c(k)));
                Expr ic = crd ? Exprs.add(Idx.mul(c, k * k), blk) : Exprs.add(Idx.mul(blk, C / (k * k)), c);
                return Te.read(px, List.of(n, ic, Exprs.div(h, Idx.c(k)), Exprs.div(w, Idx.c(k))));
            }
            Expr blk = Exprs.div(c, Idx.c(C)), ic = Exprs.mod(c, Idx.c(C));
            return Te.read(px, List.of(n, ic, Exprs.add(Idx.mul(h, k), Exprs.div(blk, Idx.c(k))),
                    Exprs.add(Idx.mul(w, k), Exprs.mod(blk, Idx.c(k)))));
        }));
    }
}
