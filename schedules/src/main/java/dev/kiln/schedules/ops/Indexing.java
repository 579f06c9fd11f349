package dev.kiln.schedules.ops;

import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * Ops whose output elements are addressed by index values read at run time: GatherND and
 * OneHot. Out-of-range indices are an error in ONNX (the evaluator reports them); the kernels
 * clamp them so their reads stay in bounds.
 */
final class Indexing {
    private Indexing() {}

    /** An index read from a tensor, negative counting from the end, clamped into [0, extent). */
    static Expr wrapClamp(Expr raw, long extent) {
        Expr i = Idx.asIndex(raw);
        i = Exprs.select(Exprs.lt(i, Idx.c(0)), Idx.add(i, extent), i);
        return Idx.clamp(i, 0, extent - 1);
    }

    /** GatherND: out[q.., r..] = data[q[:batch].., indices[q.., 0..m-1].., r..]. */
    static void gatherND(OpBuilder b) {
        long[] x = b.inDims(0), is = b.inDims(1);
        int r = x.length, q = is.length, bd = (int) b.node.attrInt("batch_dims", 0), m = (int) is[q - 1];
        Placeholder data = b.input(0), indices = b.input(1);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(b.outDims(0)), ax -> {
            List<Expr> at = new ArrayList<>();
            for (int d = 0; d < r; d++) {
                if (d < bd) at.add(ax.get(d));
                else if (d < bd + m) {
                    List<Expr> row = new ArrayList<>(ax.subList(0, q - 1));
                    row.add(Idx.c(d - bd));
                    at.add(wrapClamp(Te.read(indices, row), x[d]));
                } else at.add(ax.get(q - 1 + d - bd - m));
            }
            return Te.read(data, at);
        }));
    }

    /** OneHot: values[1] where the position on the new axis equals the (wrapped) index, else values[0]. */
    static void oneHot(OpBuilder b) {
        long[] out = b.outDims(0);
        int a = b.axis(b.node.attrInt("axis", -1), out.length);
        long depth = out[a];
        Placeholder indices = b.input(0), values = b.input(2);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(out), ax -> {
            List<Expr> at = new ArrayList<>(ax);
            at.remove(a);
            Expr i = Idx.asIndex(Te.read(indices, at));
            i = Exprs.select(Exprs.lt(i, Idx.c(0)), Idx.add(i, depth), i);
            Expr hit = Idx.cmp(CmpOp.EQ, i, ax.get(a));
            return Exprs.select(hit, Te.read(values, Idx.c(1)), Te.read(values, Idx.c(0)));
        }));
    }

    /**
     * ScatterElements as a gather over the indices' axis: out[p] combines data[p] with every
     * updates[q] whose q equals p off the axis and whose index is p's position on it. "none" keeps
     * the last such q (a max over its position), "add" / "mul" / "max" / "min" reduce over all of them.
     */
    static void scatterElements(OpBuilder b) {
        long[] x = b.inDims(0), is = b.inDims(1);
        int r = x.length, a = b.axis(b.node.attrInt("axis", 0), r);
        String red = b.node.attrString("reduction", "none");
        Placeholder data = b.input(0), indices = b.input(1), updates = b.input(2);
        dev.kiln.irlow.ScalarType t = b.outType(0);
        Expr.Var k = b.reduceAxis("sk");
        // q for output position p and reduce index k: p off the axis (clamped into the indices' box), k on it.
        java.util.function.Function<List<? extends Expr>, List<Expr>> src = ax -> {
            List<Expr> q = new ArrayList<>();
            for (int d = 0; d < r; d++) q.add(d == a ? k : Idx.clamp(ax.get(d), 0, is[d] - 1));
            return q;
        };
        java.util.function.Function<List<? extends Expr>, Expr> hit = ax -> {
            List<Expr> conds = new ArrayList<>();
            for (int d = 0; d < r; d++) if (d != a && is[d] < x[d]) conds.add(Exprs.lt(ax.get(d), Idx.c(is[d])));
            conds.add(Idx.cmp(CmpOp.EQ, wrapClamp(Te.read(indices, src.apply(ax)), x[a]), ax.get(a)));
            return Idx.all(conds);
        };
        if (red.equals("none")) {
            var last = Te.compute(b.name(b.outName(0) + "_last"), dev.kiln.irlow.ScalarType.I64, Te.box(x),
                    ax -> Te.max(Exprs.select(hit.apply(ax), k, Idx.c(-1)), List.of(k), List.of(is[a])));
            b.output(0, Te.compute(b.outName(0), t, Te.box(x), ax -> {
                Expr l = Te.read(last, ax);
                List<Expr> q = src.apply(ax);
                q.set(a, Idx.clamp(l, 0, is[a] - 1));
                return Exprs.select(Exprs.ge(l, Idx.c(0)), Te.read(updates, q), Te.read(data, ax));
            }));
            return;
        }
        Expr none = switch (red) {
            case "add" -> Idx.lit(t, 0);
            case "mul" -> Idx.lit(t, 1);
            case "max", "min" -> extreme(t, red.equals("min"));
            default -> throw b.node.error("has reduction '" + red + "'; ONNX allows none, add, mul, max and min");
        };
        var acc = Te.compute(b.name(b.outName(0) + "_acc"), t, Te.box(x), ax -> {
            Expr v = Exprs.select(hit.apply(ax), Te.read(updates, src.apply(ax)), none);
            return switch (red) {
                case "add" -> Te.sum(v, List.of(k), List.of(is[a]));
                case "mul" -> new Expr.Reduce(Expr.ReduceOp.PROD, v, List.of(k), List.of(is[a]));
                case "max" -> Te.max(v, List.of(k), List.of(is[a]));
                default -> Te.min(v, List.of(k), List.of(is[a]));
            };
        });
        b.output(0, Te.compute(b.outName(0), t, Te.box(x), ax -> {
            Expr d = Te.read(data, ax), u = Te.read(acc, ax);
            return switch (red) {
                case "add" -> Exprs.add(d, u);
                case "mul" -> Exprs.mul(d, u);
                case "max" -> Exprs.max(d, u);
                default -> Exprs.min(d, u);
            };
        }));
    }

    /**
     * ScatterND as a gather over the rows of indices: out[p] combines data[p] with the updates
     * slices whose index row equals p's first m coordinates ("none": the last such row, by a max
     * over the row number; "add" / "mul" / "max" / "min": all of them).
     */
    static void scatterND(OpBuilder b) {
        long[] x = b.inDims(0), is = b.inDims(1);
        int r = x.length, q = is.length, m = (int) is[q - 1];
        String red = b.node.attrString("reduction", "none");
        Placeholder data = b.input(0), indices = b.input(1), updates = b.input(2);
        dev.kiln.irlow.ScalarType t = b.outType(0);
        List<Expr.Var> rows = new ArrayList<>();
        List<Long> extents = new ArrayList<>();
        for (int d = 0; d < q - 1; d++) {
            rows.add(b.reduceAxis("sr" + d));
            extents.add(is[d]);
        }
        if (rows.isEmpty()) { // one index row: a unit reduction keeps the same form
            rows.add(b.reduceAxis("sr"));
            extents.add(1L);
        }
        int nr = q - 1;
        java.util.function.Function<List<? extends Expr>, Expr> hit = ax -> {
            List<Expr> conds = new ArrayList<>();
            for (int j = 0; j < m; j++) {
                List<Expr> at = new ArrayList<>(rows.subList(0, nr));
                at.add(Idx.c(j));
                conds.add(Idx.cmp(CmpOp.EQ, wrapClamp(Te.read(indices, at), x[j]), ax.get(j)));
            }
            return Idx.all(conds);
        };
        java.util.function.BiFunction<List<? extends Expr>, List<Expr>, Expr> update = (ax, row) -> {
            List<Expr> at = new ArrayList<>(row);
            for (int d = m; d < r; d++) at.add(ax.get(d));
            if (at.isEmpty()) at.add(Idx.c(0)); // a scalar is held as one element
            return Te.read(updates, at);
        };
        if (red.equals("none")) {
            Expr linear = Idx.c(0);
            for (int d = 0; d < nr; d++) linear = Exprs.add(Idx.mul(linear, is[d]), rows.get(d));
            Expr lin = linear;
            var last = Te.compute(b.name(b.outName(0) + "_last"), dev.kiln.irlow.ScalarType.I64, Te.box(x),
                    ax -> Te.max(Exprs.select(hit.apply(ax), lin, Idx.c(-1)), rows, extents));
            long count = Idx.numel(java.util.Arrays.copyOf(is, q - 1));
            b.output(0, Te.compute(b.outName(0), t, Te.box(x), ax -> {
                Expr l = Te.read(last, ax), c = Idx.clamp(l, 0, count - 1);
                List<Expr> row = new ArrayList<>();
                for (int d = nr - 1; d >= 0; d--) {
                    row.add(0, Exprs.mod(c, Idx.c(is[d])));
                    c = Exprs.div(c, Idx.c(is[d]));
                }
                return Exprs.select(Exprs.ge(l, Idx.c(0)), update.apply(ax, row), Te.read(data, ax));
            }));
            return;
        }
        Expr none = switch (red) {
            case "add" -> Idx.lit(t, 0);
            case "mul" -> Idx.lit(t, 1);
            case "max", "min" -> extreme(t, red.equals("min"));
            default -> throw b.node.error("has reduction '" + red + "'; ONNX allows none, add, mul, max and min");
        };
        var acc = Te.compute(b.name(b.outName(0) + "_acc"), t, Te.box(x), ax -> {
            Expr v = Exprs.select(hit.apply(ax), update.apply(ax, new ArrayList<>(rows.subList(0, nr))), none);
            return switch (red) {
                case "add" -> Te.sum(v, rows, extents);
                case "mul" -> new Expr.Reduce(Expr.ReduceOp.PROD, v, rows, extents);
                case "max" -> Te.max(v, rows, extents);
                default -> Te.min(v, rows, extents);
            };
        });
        b.output(0, Te.compute(b.outName(0), t, Te.box(x), ax -> {
            Expr d = Te.read(data, ax), u = Te.read(acc, ax);
            return switch (red) {
                case "add" -> Exprs.add(d, u);
                case "mul" -> Exprs.mul(d, u);
                case "max" -> Exprs.max(d, u);
                default -> Exprs.min(d, u);
            };
        }));
    }

    /** ReverseSequence: step t of batch entry b reads step len[b]-1-t where t < len[b] (clamped), else t. */
    static void reverseSequence(OpBuilder b) {
        long[] x = b.inDims(0);
        int ta = (int) b.node.attrInt("time_axis", 0), ba = (int) b.node.attrInt("batch_axis", 1);
        Placeholder px = b.input(0), lens = b.input(1);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(x), ax -> {
            Expr t = ax.get(ta), len = Idx.asIndex(Te.read(lens, ax.get(ba)));
            Expr rev = Idx.clamp(Exprs.sub(Idx.add(len, -1), t), 0, x[ta] - 1);
            List<Expr> at = new ArrayList<>(ax);
            at.set(ta, Exprs.select(Exprs.lt(t, len), rev, t));
            return Te.read(px, at);
        }));
    }

    /** The identity of max (the type's lowest value) or of min (its highest). */
    private static Expr extreme(dev.kiln.irlow.ScalarType t, boolean highest) {
        if (t.isFloat) return Idx.lit(t, highest ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY);
        if (!t.isSigned) return Exprs.intImm(t, highest ? (t.bits == 64 ? -1L : (1L << t.bits) - 1) : 0);
        long max = t.bits == 64 ? Long.MAX_VALUE : (1L << (t.bits - 1)) - 1;
        return Exprs.intImm(t, highest ? max : -max - 1);
    }
}
