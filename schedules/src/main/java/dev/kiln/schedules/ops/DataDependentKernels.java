package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.LoopSort.seq;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.ops.DataDependent;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The kernels of the ops whose output lengths depend on the data ({@link DataDependent}), as
 * serial loop IR: each writes its outputs compactly at the start of their bound buffers and the
 * actual shapes into the companion outputs. Sorting is {@link LoopSort}'s merge sort, so NonZero
 * is linear, Unique n log n slice comparisons, NonMaxSuppression n log n per class plus one IoU
 * per candidate and box already kept.
 */
final class DataDependentKernels {
    private DataDependentKernels() {}

    static Kernel kernel(Node n, Graph g) {
        return switch (n.op()) {
            case "NonZero" -> nonZero(n, g);
            case "NonMaxSuppression" -> nms(n, g);
            case "Unique" -> unique(n, g);
            default -> throw new IllegalArgumentException(n.op() + " has no data-dependent kernel");
        };
    }

    /** The kernel's parameters and their graph values, inputs declared before outputs (parameter order). */
    private static final class Params {
        final List<Buffer> buffers = new ArrayList<>();
        final List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        final Graph g;

        Params(Graph g) {
            this.g = g;
        }

        Buffer input(String value, String name) {
            if (!outputs.isEmpty()) throw new IllegalStateException("input " + name + " declared after an output");
            inputs.add(value);
            return add(value, name);
        }

        Buffer output(String value, String name) {
            outputs.add(value);
            return add(value, name);
        }

        private Buffer add(String value, String name) {
            Buffer b = new Buffer(name, OpBuilder.scalar(g.value(value).dtype()), Math.max(1, g.value(value).shape().numel()));
            buffers.add(b);
            return b;
        }

        Kernel kernel(Node n, Stmt body, String template, double work) {
            String base = n.name().isEmpty() ? n.output(0) : n.name();
            PrimFunc f = new PrimFunc("k_" + OpBuilder.sanitize(base).replaceFirst("^v_", ""), buffers, body);
            return new Kernel(f, inputs, outputs, new Kernel.Info(n.name(), List.of(n.op()), template, "", work));
        }
    }

    static Expr ld(Buffer b, Expr i) {
        return new Expr.Load(b, i);
    }

    static Stmt set(Buffer b, long i, Expr v) {
        return new Stmt.Store(b, Idx.c(i), v);
    }

    static Stmt increment(Buffer b, long i) {
        return set(b, i, Idx.add(LoopSort.load(b, i), 1));
    }

    /** Writes {@code dims} into a companion shape output. */
    static Stmt shape(Buffer out, List<Expr> dims) {
        List<Stmt> s = new ArrayList<>();
        for (int d = 0; d < dims.size(); d++) s.add(set(out, d, dims.get(d)));
        return new Stmt.Seq(s);
    }

    /** NonZero: count, then write each coordinate row at its actual length. */
    private static Kernel nonZero(Node n, Graph g) {
        int[] dims = g.value(n.input(0)).shape().dims();
        long numel = g.value(n.input(0)).shape().numel();
        Params p = new Params(g);
        Buffer x = p.input(n.input(0), "x");
        Buffer y = p.output(n.output(0), "y"), shape = p.output(n.output(1), "y_shape");
        Buffer count = new Buffer("count", ScalarType.I64, 1);
        Expr.Var i = Exprs.var("i"), k = Exprs.var("k"), total = Exprs.var("total"), j = Exprs.var("j");
        Expr nz = Idx.cmp(CmpOp.NE, ld(x, i), Idx.lit(x.dtype(), 0)), nzk = Idx.cmp(CmpOp.NE, ld(x, k), Idx.lit(x.dtype(), 0));
        List<Stmt> coords = new ArrayList<>();
        long stride = numel;
        for (int d = 0; d < dims.length; d++) {
            stride /= dims[d];
            coords.add(new Stmt.Store(y, Exprs.add(Idx.mul(total, d), j), Exprs.mod(Exprs.div(k, Idx.c(stride)), Idx.c(dims[d]))));
        }
        coords.add(new Stmt.Store(count, Idx.c(0), Idx.add(j, 1)));
        Stmt body = new Stmt.Allocate(count, seq(
                set(count, 0, Idx.c(0)),
                new Stmt.For(i, Idx.c(0), Idx.c(numel), ForKind.SERIAL, new Stmt.IfThenElse(nz, increment(count, 0), null)),
                new Stmt.LetStmt(total, LoopSort.load(count, 0), seq(
                        set(count, 0, Idx.c(0)),
                        new Stmt.For(k, Idx.c(0), Idx.c(numel), ForKind.SERIAL,
                                new Stmt.IfThenElse(nzk, new Stmt.LetStmt(j, LoopSort.load(count, 0), new Stmt.Seq(coords)), null)),
                        shape(shape, List.of(Idx.c(dims.length), total))))));
        return p.kernel(n, body, "nonzero", 2.0 * numel);
    }

    /**
     * NonMaxSuppression per batch and class: the candidates above the score threshold, merge
     * sorted by score (stable, so ties keep the lower box first), then each kept unless it
     * overlaps a box already kept in its class by more than the IoU threshold.
     */
    private static Kernel nms(Node n, Graph g) {
        int batches = g.value(n.input(0)).shape().dim(0), count = g.value(n.input(0)).shape().dim(1);
        int classes = g.value(n.input(1)).shape().dim(1);
        boolean center = n.attrInt("center_point_box", 0) == 1;
        Params p = new Params(g);
        Buffer boxes = p.input(n.input(0), "boxes"), scores = p.input(n.input(1), "scores");
        Buffer max = n.hasInput(2) ? p.input(n.input(2), "max_per_class") : null;
        Buffer iou = n.hasInput(3) ? p.input(n.input(3), "iou_threshold") : null;
        Buffer threshold = n.hasInput(4) ? p.input(n.input(4), "score_threshold") : null;
        Buffer out = p.output(n.output(0), "selected"), shape = p.output(n.output(1), "selected_shape");
        Buffer cand = new Buffer("candidates", ScalarType.I64, count), tmp = new Buffer("merge", ScalarType.I64, count);
        Buffer kept = new Buffer("kept", ScalarType.I64, count), st = new Buffer("state", ScalarType.I64, 4);
        final int total = 0, candidates = 1, selected = 2, keep = 3;
        Expr.Var b = Exprs.var("b"), c = Exprs.var("c"), i = Exprs.var("i"), t = Exprs.var("t"), s = Exprs.var("s");
        Expr.Var nc = Exprs.var("nc"), limit = Exprs.var("limit"), box = Exprs.var("box"), ns = Exprs.var("ns"), row = Exprs.var("row");
        Expr base = Idx.mul(Exprs.add(Idx.mul(b, classes), c), count);
        Function<Expr, Expr> score = k -> ld(scores, Exprs.add(base, k));
        Stmt candidate = seq(new Stmt.Store(cand, LoopSort.load(st, candidates), i), increment(st, candidates));
        Stmt filter = new Stmt.For(i, Idx.c(0), Idx.c(count), ForKind.SERIAL, threshold == null ? candidate
                : new Stmt.IfThenElse(Idx.cmp(CmpOp.GT, score.apply(i), LoopSort.load(threshold, 0)), candidate, null));
        Stmt sort = LoopSort.sort("by_score", cand, tmp, nc, count, (right, left, flag) ->
                new Stmt.Store(flag, Idx.c(0), Exprs.select(Idx.cmp(CmpOp.GT, score.apply(right), score.apply(left)), Idx.c(1), Idx.c(0))));
        Expr overlap = overlaps(boxes, Idx.mul(b, count), ld(kept, s), box, center, iou == null ? Idx.lit(ScalarType.F32, 0) : LoopSort.load(iou, 0));
        Stmt check = new Stmt.LetStmt(ns, LoopSort.load(st, selected), new Stmt.For(s, Idx.c(0), ns, ForKind.SERIAL,
                new Stmt.IfThenElse(Exprs.and(Idx.cmp(CmpOp.NE, LoopSort.load(st, keep), Idx.c(0)), overlap), set(st, keep, Idx.c(0)), null)));
        Stmt select = new Stmt.LetStmt(row, Idx.mul(LoopSort.load(st, total), 3), seq(
                new Stmt.Store(kept, LoopSort.load(st, selected), box),
                new Stmt.Store(out, row, b), new Stmt.Store(out, Idx.add(row, 1), c), new Stmt.Store(out, Idx.add(row, 2), box),
                increment(st, total), increment(st, selected)));
        Stmt consider = new Stmt.IfThenElse(Exprs.lt(LoopSort.load(st, selected), limit), new Stmt.LetStmt(box, ld(cand, t), seq(
                set(st, keep, Idx.c(1)), check,
                new Stmt.IfThenElse(Idx.cmp(CmpOp.NE, LoopSort.load(st, keep), Idx.c(0)), select, null))), null);
        Expr perClass = max == null ? Idx.c(0) : Exprs.max(LoopSort.load(max, 0), Idx.c(0));
        Stmt oneClass = seq(set(st, candidates, Idx.c(0)), filter, new Stmt.LetStmt(nc, LoopSort.load(st, candidates), seq(
                sort, set(st, selected, Idx.c(0)),
                new Stmt.LetStmt(limit, perClass, new Stmt.For(t, Idx.c(0), nc, ForKind.SERIAL, consider)))));
        Stmt body = new Stmt.Allocate(cand, new Stmt.Allocate(tmp, new Stmt.Allocate(kept, new Stmt.Allocate(st, seq(
                set(st, total, Idx.c(0)),
                new Stmt.For(b, Idx.c(0), Idx.c(batches), ForKind.SERIAL,
                        new Stmt.For(c, Idx.c(0), Idx.c(classes), ForKind.SERIAL, oneClass)),
                shape(shape, List.of(LoopSort.load(st, total), Idx.c(3))))))));
        double log = Math.max(1, Math.ceil(Math.log(Math.max(2, count)) / Math.log(2)));
        return p.kernel(n, body, "nms", (double) batches * classes * count * (log + 20));
    }

    /**
     * Whether box {@code q} overlaps box {@code p} (both of batch offset {@code first}) by an IoU
     * above {@code threshold}, in fp32 with ONNX Runtime's edge cases: no overlap, an empty
     * intersection, a box of zero area or an empty union never suppress.
     */
    private static Expr overlaps(Buffer boxes, Expr first, Expr p, Expr q, boolean center, Expr threshold) {
        Expr[] a = extent(boxes, first, p, center), b = extent(boxes, first, q, center);
        Expr x0 = Exprs.max(a[0], b[0]), x1 = Exprs.min(a[1], b[1]), y0 = Exprs.max(a[2], b[2]), y1 = Exprs.min(a[3], b[3]);
        Expr zero = Idx.lit(ScalarType.F32, 0);
        Expr inter = Exprs.mul(Exprs.sub(x1, x0), Exprs.sub(y1, y0));
        Expr areaA = Exprs.mul(Exprs.sub(a[1], a[0]), Exprs.sub(a[3], a[2])), areaB = Exprs.mul(Exprs.sub(b[1], b[0]), Exprs.sub(b[3], b[2]));
        Expr union = Exprs.sub(Exprs.add(areaA, areaB), inter);
        return Idx.all(List.of(Idx.cmp(CmpOp.GT, x1, x0), Idx.cmp(CmpOp.GT, y1, y0), Idx.cmp(CmpOp.GT, inter, zero),
                Idx.cmp(CmpOp.GT, areaA, zero), Idx.cmp(CmpOp.GT, areaB, zero), Idx.cmp(CmpOp.GT, union, zero),
                Idx.cmp(CmpOp.GT, Exprs.div(inter, union), threshold)));
    }

    /** A box's {xmin, xmax, ymin, ymax}: corners {@code [y1, x1, y2, x2]} in either order, or {@code [xc, yc, w, h]}. */
    private static Expr[] extent(Buffer boxes, Expr first, Expr box, boolean center) {
        Expr at = Idx.mul(Exprs.add(first, box), 4);
        Function<Integer, Expr> v = k -> ld(boxes, Idx.add(at, k));
        if (center) {
            Expr two = Idx.lit(ScalarType.F32, 2), hw = Exprs.div(v.apply(2), two), hh = Exprs.div(v.apply(3), two);
            return new Expr[] {Exprs.sub(v.apply(0), hw), Exprs.add(v.apply(0), hw), Exprs.sub(v.apply(1), hh), Exprs.add(v.apply(1), hh)};
        }
        return new Expr[] {Exprs.min(v.apply(1), v.apply(3)), Exprs.max(v.apply(1), v.apply(3)),
                Exprs.min(v.apply(0), v.apply(2)), Exprs.max(v.apply(0), v.apply(2))};
    }

    /**
     * Unique: the slices' positions merge sorted by their elements (stable, so each run of equal
     * slices starts at its first occurrence), runs grouped in one pass, the groups put in first
     * occurrence order for {@code sorted=0}, then every output written at its actual length.
     */
    private static Kernel unique(Node n, Graph g) {
        long[] xd = g.value(n.input(0)).shape().longDims();
        boolean hasAxis = n.has("axis");
        int axis = hasAxis ? (int) Math.floorMod(n.attrInt("axis", 0), xd.length) : 0;
        long len = hasAxis ? xd[axis] : Idx.numel(xd);
        long outer = 1, inner = 1;
        if (hasAxis) {
            for (int d = 0; d < axis; d++) outer *= xd[d];
            for (int d = axis + 1; d < xd.length; d++) inner *= xd[d];
        }
        long slice = outer * inner, in = inner, ln = len;
        int outputs = DataDependent.onnxOutputs(n);
        Params p = new Params(g);
        Buffer x = p.input(n.input(0), "x");
        Buffer y = p.output(n.output(0), "y");
        Buffer indices = outputs > 1 && !n.output(1).isEmpty() ? p.output(n.output(1), "indices") : null;
        Buffer inverse = outputs > 2 && !n.output(2).isEmpty() ? p.output(n.output(2), "inverse_indices") : null;
        Buffer counts = outputs > 3 && !n.output(3).isEmpty() ? p.output(n.output(3), "counts") : null;
        List<Buffer> shapes = new ArrayList<>();
        for (int k = outputs; k < n.outputs().size(); k++) shapes.add(p.output(n.output(k), "shape" + (k - outputs)));
        Buffer perm = new Buffer("perm", ScalarType.I64, len), tmp = new Buffer("merge", ScalarType.I64, len);
        Buffer first = new Buffer("first", ScalarType.I64, len), cnt = new Buffer("group_count", ScalarType.I64, len);
        Buffer groupOf = new Buffer("group_of", ScalarType.I64, len), order = new Buffer("order", ScalarType.I64, len);
        Buffer rank = new Buffer("rank", ScalarType.I64, len), st = new Buffer("state", ScalarType.I64, 1);
        Buffer cmp = new Buffer("cmp", ScalarType.I64, 1);
        // cmp[0] = -1, 0 or 1 as slice a is below, equal to or above slice b, element by element.
        java.util.function.BiFunction<String, Expr[], Stmt> compare = (prefix, ab) -> {
            Expr.Var e = Exprs.var(prefix + "_e"), va = new Expr.Var(prefix + "_a", Type.of(x.dtype())), vb = new Expr.Var(prefix + "_b", Type.of(x.dtype()));
            Function<Expr, Expr> at = s -> Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.div(e, Idx.c(in)), ln), s), in), Exprs.mod(e, Idx.c(in)));
            return seq(set(cmp, 0, Idx.c(0)), new Stmt.For(e, Idx.c(0), Idx.c(slice), ForKind.SERIAL,
                    new Stmt.IfThenElse(Idx.cmp(CmpOp.EQ, LoopSort.load(cmp, 0), Idx.c(0)),
                            new Stmt.LetStmt(va, ld(x, at.apply(ab[0])), new Stmt.LetStmt(vb, ld(x, at.apply(ab[1])),
                                    new Stmt.IfThenElse(Exprs.lt(va, vb), set(cmp, 0, Idx.c(-1)),
                                            new Stmt.IfThenElse(Exprs.lt(vb, va), set(cmp, 0, Idx.c(1)), null)))), null)));
        };
        Expr.Var i = Exprs.var("i"), r = Exprs.var("r"), pr = Exprs.var("pr"), grp = Exprs.var("grp"), u = Exprs.var("u");
        Expr.Var k = Exprs.var("k"), gk = Exprs.var("gk"), f = Exprs.var("f"), e = Exprs.var("e"), q = Exprs.var("q"), ko = Exprs.var("ko");
        Expr.Var ii = Exprs.var("ii");
        Stmt sortSlices = LoopSort.sort("by_value", perm, tmp, Idx.c(len), len, (right, left, flag) -> seq(
                compare.apply("order", new Expr[] {right, left}),
                new Stmt.Store(flag, Idx.c(0), Exprs.select(Exprs.lt(LoopSort.load(cmp, 0), Idx.c(0)), Idx.c(1), Idx.c(0)))));
        Stmt newGroup = seq(new Stmt.Store(first, LoopSort.load(st, 0), pr), new Stmt.Store(cnt, LoopSort.load(st, 0), Idx.c(0)), increment(st, 0));
        Stmt group = new Stmt.LetStmt(pr, ld(perm, r), seq(
                new Stmt.IfThenElse(Idx.cmp(CmpOp.EQ, r, Idx.c(0)), newGroup, seq(
                        compare.apply("group", new Expr[] {ld(perm, Idx.add(r, -1)), pr}),
                        new Stmt.IfThenElse(Idx.cmp(CmpOp.NE, LoopSort.load(cmp, 0), Idx.c(0)), newGroup, null))),
                new Stmt.LetStmt(grp, Idx.add(LoopSort.load(st, 0), -1), seq(
                        new Stmt.Store(cnt, grp, Idx.add(ld(cnt, grp), 1)), new Stmt.Store(groupOf, pr, grp)))));
        List<Stmt> write = new ArrayList<>();
        write.add(new Stmt.For(e, Idx.c(0), Idx.c(slice), ForKind.SERIAL, new Stmt.Store(y,
                Exprs.add(Idx.mul(Exprs.add(Exprs.mul(Exprs.div(e, Idx.c(in)), u), k), in), Exprs.mod(e, Idx.c(in))),
                ld(x, Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.div(e, Idx.c(in)), ln), f), in), Exprs.mod(e, Idx.c(in)))))));
        if (indices != null) write.add(new Stmt.Store(indices, k, f));
        if (counts != null) write.add(new Stmt.Store(counts, k, ld(cnt, gk)));
        List<Stmt> body = new ArrayList<>(List.of(
                new Stmt.For(i, Idx.c(0), Idx.c(len), ForKind.SERIAL, new Stmt.Store(perm, i, i)),
                sortSlices, set(st, 0, Idx.c(0)),
                new Stmt.For(r, Idx.c(0), Idx.c(len), ForKind.SERIAL, group)));
        List<Stmt> tail = new ArrayList<>();
        tail.add(new Stmt.For(q, Idx.c(0), u, ForKind.SERIAL, new Stmt.Store(order, q, q)));
        if (n.attrInt("sorted", 1) == 0)
            tail.add(LoopSort.sort("by_first", order, tmp, u, len, (right, left, flag) -> new Stmt.Store(flag, Idx.c(0),
                    Exprs.select(Exprs.lt(ld(first, right), ld(first, left)), Idx.c(1), Idx.c(0)))));
        tail.add(new Stmt.For(ko, Idx.c(0), u, ForKind.SERIAL, new Stmt.Store(rank, ld(order, ko), ko)));
        tail.add(new Stmt.For(k, Idx.c(0), u, ForKind.SERIAL, new Stmt.LetStmt(gk, ld(order, k), new Stmt.LetStmt(f, ld(first, gk), new Stmt.Seq(write)))));
        if (inverse != null) tail.add(new Stmt.For(ii, Idx.c(0), Idx.c(len), ForKind.SERIAL, new Stmt.Store(inverse, ii, ld(rank, ld(groupOf, ii)))));
        List<Expr> yShape = new ArrayList<>();
        if (hasAxis) for (int d = 0; d < xd.length; d++) yShape.add(d == axis ? u : Idx.c(xd[d]));
        else yShape.add(u);
        int s = 0;
        for (int o : DataDependent.boundedOutputs(n)) tail.add(shape(shapes.get(s++), o == 0 ? yShape : List.of(u)));
        body.add(new Stmt.LetStmt(u, LoopSort.load(st, 0), new Stmt.Seq(tail)));
        Stmt all = new Stmt.Seq(body);
        for (Buffer b : List.of(cmp, st, rank, order, groupOf, cnt, first, tmp, perm)) all = new Stmt.Allocate(b, all);
        double log = Math.max(1, Math.ceil(Math.log(Math.max(2, len)) / Math.log(2)));
        return p.kernel(n, all, "unique", len * log * slice);
    }
}
