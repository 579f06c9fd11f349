package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Ops that move elements without arithmetic: Transpose, Concat, Split, Slice, Gather, Tile and
 * Pad. Each output element reads one input element at remapped indices; a read that may fall
 * outside its input under a select is clamped, since both sides of a select are evaluated.
 */
final class Movement {
    private Movement() {}

    static void transpose(OpBuilder b) {
        long[] x = b.inDims(0);
        int r = x.length;
        long[] perm = b.node.attrInts("perm", null);
        if (perm == null) {
            perm = new long[r];
            for (int d = 0; d < r; d++) perm[d] = r - 1 - d;
        }
        long[] p = perm;
        Placeholder px = b.input(0);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(b.outDims(0)), ax -> {
            Expr[] idx = new Expr[r];
            for (int d = 0; d < r; d++) idx[(int) p[d]] = ax.get(d);
            return Te.read(px, idx);
        }));
    }

    /** Concat along an axis, seen as {@code [outer, len*inner]} per input: a chain of selects on the second index. */
    static void concat(OpBuilder b) {
        long[] y = b.outDims(0);
        int a = b.axis(b.node.attrInt("axis", 0), y.length);
        AxisView out = AxisView.around(y, a, a + 1);
        long inner = out.inner();
        List<Placeholder> parts = new ArrayList<>();
        List<Long> offsets = new ArrayList<>(), lengths = new ArrayList<>();
        long off = 0;
        for (int i = 0; i < b.node.inputs().size(); i++) {
            if (!b.node.hasInput(i)) continue;
            long len = b.inDims(i).length == 0 ? 0 : b.inDims(i)[a] * inner;
            if (len == 0) continue;
            parts.add(b.input(i, flat2(out.outer(), len)));
            offsets.add(off);
            lengths.add(len);
            off += len;
        }
        long total = off;
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(flat2(out.outer(), total)), ax -> {
            Expr o = out.outer() > 1 ? ax.get(0) : null, j = ax.get(ax.size() - 1);
            Expr r = null;
            for (int k = parts.size() - 1; k >= 0; k--) {
                Expr local = Idx.add(j, -offsets.get(k));
                if (parts.size() > 1) local = Idx.clamp(local, 0, lengths.get(k) - 1);
                Expr v = Te.read(parts.get(k), o == null ? List.of(local) : List.of(o, local));
                r = r == null ? v : Exprs.select(Exprs.lt(j, Idx.c(offsets.get(k) + lengths.get(k))), v, r);
            }
            return r;
        }));
    }

    /**
     * Concat on a CPU as loop IR written out: one copy loop per input into its slice of each
     * output row ({@code dst[o, off + j] = part[o, j]}), which LLVM turns into memcpy or
     * vector copies. The compute {@link #concat} builds is one nest over the whole output
     * whose every element selects among all inputs with clamped (gathered) indices.
     * {@code c} is that compute (for its names and flattened shapes).
     */
    static PrimFunc concatCopies(Node node, OpCompute c) {
        Compute out = c.outputs().getFirst();
        long outer = out.shape().size() == 2 ? out.shape().getFirst() : 1, total = out.shape().getLast();
        List<Buffer> params = new ArrayList<>();
        for (Placeholder p : c.inputs()) params.add(new Buffer(p.name(), p.dtype(), p.numel()));
        Buffer dst = new Buffer(out.name(), out.dtype(), out.numel());
        params.add(dst);
        Expr.Var o = Exprs.var("o");
        List<Stmt> copies = new ArrayList<>();
        long off = 0;
        Expr row = outer > 1 ? o : Idx.c(0);
        for (int i = 0; i < node.inputs().size(); i++) {
            int k = node.hasInput(i) ? c.inputNames().indexOf(node.input(i)) : -1;
            if (k < 0) continue; // an omitted or empty input
            Buffer src = params.get(k);
            long len = c.inputs().get(k).shape().getLast();
            Expr.Var j = Exprs.var("j" + i);
            copies.add(new Stmt.For(j, Idx.c(0), Idx.c(len), ForKind.SERIAL,
                    new Stmt.Store(dst, Idx.add(Exprs.add(Idx.mul(row, total), j), off),
                            new Expr.Load(src, Exprs.add(Idx.mul(row, len), j)))));
            off += len;
        }
        Stmt body = new Stmt.Seq(copies);
        if (outer > 1) body = new Stmt.For(o, Idx.c(0), Idx.c(outer), ForKind.SERIAL, body);
        return new PrimFunc(c.funcName(), params, body);
    }

    /** {@code [outer, n]}, or {@code [n]} when outer is 1. */
    private static long[] flat2(long outer, long n) {
        return outer > 1 ? new long[] {outer, n} : new long[] {n};
    }

    /** Split: output k is the slice of the input at its offset along the axis (sizes from the inferred output shapes). */
    static void split(OpBuilder b) {
        long[] x = b.inDims(0);
        int a = b.axis(b.node.attrInt("axis", 0), x.length);
        AxisView in = AxisView.around(x, a, a + 1);
        Placeholder px = b.input(0, flat2(in.outer(), in.mid() * in.inner()));
        long off = 0;
        for (int k = 0; k < b.node.outputs().size(); k++) {
            if (!b.hasOutput(k)) throw b.unsupported("Split with an omitted output");
            long len = b.outDims(k)[a] * in.inner(), start = off;
            b.output(k, Te.compute(b.outName(k), b.outType(k), Te.box(flat2(in.outer(), len)), ax -> {
                Expr j = Idx.add(ax.get(ax.size() - 1), start);
                return Te.read(px, in.outer() > 1 ? List.of(ax.get(0), j) : List.of(j));
            }));
            off += len;
        }
    }

    /** Slice with constant starts/ends/axes/steps (inputs from opset 10, attributes before). */
    static void slice(OpBuilder b) {
        long[] x = b.inDims(0);
        int r = x.length;
        long[] starts, axes, steps;
        if (b.node.opset() < 10) {
            starts = b.node.attrInts("starts", null);
            axes = b.node.attrInts("axes", null);
            steps = null;
        } else {
            starts = b.constInts(1, "starts");
            axes = b.node.hasInput(3) ? b.constInts(3, "axes") : null;
            steps = b.node.hasInput(4) ? b.constInts(4, "steps") : null;
        }
        long[] begin = new long[r], step = new long[r];
        Arrays.fill(step, 1);
        for (int k = 0; k < starts.length; k++) {
            int d = b.axis(axes == null ? k : axes[k], r);
            long s = steps == null ? 1 : steps[k], st = starts[k];
            if (st < 0) st += x[d];
            begin[d] = s > 0 ? Math.clamp(st, 0, x[d]) : Math.clamp(st, 0, x[d] - 1);
            step[d] = s;
        }
        Placeholder px = b.input(0);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(b.outDims(0)), ax -> {
            List<Expr> idx = new ArrayList<>();
            for (int d = 0; d < r; d++) idx.add(Idx.add(Idx.mul(ax.get(d), step[d]), begin[d]));
            return Te.read(px, idx);
        }));
    }

    /** Gather along an axis with run-time int32/int64 indices; negative indices count from the end. */
    static void gather(OpBuilder b) {
        long[] x = b.inDims(0);
        int a = b.axis(b.node.attrInt("axis", 0), x.length);
        AxisView in = AxisView.around(x, a, a + 1);
        long q = b.in(1).shape().numel();
        AxisView out = in.withMid(q);
        Placeholder data = b.input(0, in.shape()), indices = b.input(1, new long[] {q});
        long dim = in.mid();
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(out.shape()), ax -> {
            Expr i = Idx.asIndex(Te.read(indices, out.midOf(ax)));
            i = Exprs.select(Exprs.lt(i, Idx.c(0)), Idx.add(i, dim), i);
            // Out-of-range indices are an error in ONNX; clamping keeps the native kernel's reads in bounds.
            i = Idx.clamp(i, 0, dim - 1);
            return Te.read(data, in.at(out.outerOf(ax), i, out.innerOf(ax)));
        }));
    }

    static void tile(OpBuilder b) {
        long[] x = b.inDims(0), y = b.outDims(0);
        Placeholder px = b.input(0);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(y), ax -> {
            List<Expr> idx = new ArrayList<>();
            for (int d = 0; d < x.length; d++) idx.add(x[d] == y[d] ? ax.get(d) : x[d] == 1 ? Idx.c(0) : Exprs.mod(ax.get(d), Idx.c(x[d])));
            return Te.read(px, idx);
        }));
    }

    /** Pad in constant, edge, reflect or wrap mode; negative pads crop. */
    static void pad(OpBuilder b) {
        long[] x = b.inDims(0), y = b.outDims(0);
        int r = x.length;
        String mode = b.node.attrString("mode", "constant");
        long[] pads;
        long[] axes = null;
        Expr value = null;
        ScalarType t = b.outType(0);
        Placeholder px = b.input(0);
        if (b.node.opset() < 11) {
            pads = b.node.attrInts("pads", null);
            value = Idx.lit(t, b.node.attrFloat("value", 0f));
        } else {
            pads = b.constInts(1, "pads");
            if (b.node.hasInput(3)) axes = b.constInts(3, "axes");
            Tensor cv = b.constant(2);
            if (!b.node.hasInput(2)) value = Idx.lit(t, 0);
            else if (cv != null) value = t.isFloat ? Idx.lit(t, cv.getDouble(0)) : Exprs.intImm(t, cv.getLong(0));
            else value = Te.read(b.input(2, new long[] {1}), Idx.c(0));
        }
        long[] begin = new long[r];
        int na = axes == null ? r : axes.length;
        for (int k = 0; k < na; k++) begin[b.axis(axes == null ? k : axes[k], r)] = pads[k];
        Expr fill = value;
        b.output(0, Te.compute(b.outName(0), t, Te.box(y), ax -> {
            List<Expr> idx = new ArrayList<>();
            List<Expr> inside = new ArrayList<>();
            for (int d = 0; d < r; d++) {
                Expr i = Idx.add(ax.get(d), -begin[d]);
                boolean mayLeave = begin[d] > 0 || y[d] - begin[d] > x[d];
                if (mayLeave) {
                    switch (mode) {
                        case "constant" -> {
                            inside.add(Idx.within(i, 0, x[d]));
                            i = Idx.clamp(i, 0, x[d] - 1);
                        }
                        case "edge" -> i = Idx.clamp(i, 0, x[d] - 1);
                        case "reflect" -> {
                            // Mirror without repeating the edge, periodic so that any pad width works.
                            long period = 2 * (x[d] - 1);
                            if (period == 0) i = Idx.c(0);
                            else {
                                Expr m = Exprs.mod(i, Idx.c(period));
                                i = Exprs.select(Exprs.lt(m, Idx.c(x[d])), m, Exprs.sub(Idx.c(period), m));
                            }
                        }
                        case "wrap" -> i = Exprs.mod(i, Idx.c(x[d]));
                        default -> throw b.node.error("unknown Pad mode '" + mode + "'");
                    }
                }
                idx.add(i);
            }
            Expr v = Te.read(px, idx);
            return inside.isEmpty() ? v : Exprs.select(Idx.all(inside), v, fill);
        }));
    }
}
