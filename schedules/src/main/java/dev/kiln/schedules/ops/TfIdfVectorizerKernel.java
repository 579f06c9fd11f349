package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.TfIdfVectorizer.Grams;
import dev.kiln.irhigh.ops.TfIdfVectorizer.Mode;
import dev.kiln.irhigh.ops.TfIdfVectorizer.Pool;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.List;

/**
 * TfIdfVectorizer as loop IR (matching n-grams against a vocabulary is no tensor expression).
 * The pool is a compile-time constant, kept in a derived int64 table ({@code <output>_tfidf_pool}:
 * each length's n-grams back to back, then every n-gram's output column) and, when weights
 * apply, a float table of what each n-gram's hit adds ({@code <output>_tfidf_gain}). Per row: the
 * output row zeroed, then for each skip and start, each n-gram length that fits there (unrolled,
 * shorter first) loads the row's items once and compares them with that length's pool entries:
 * ONNX Runtime's order, which decides IDF when n-grams share a column. Work is rows x starts x
 * skips x pool items. Rows run in parallel on a CPU. Semantics:
 * {@link dev.kiln.irhigh.ops.TfIdfVectorizer}.
 */
final class TfIdfVectorizerKernel {
    private TfIdfVectorizerKernel() {}

    static Kernel kernel(Node n, Graph g, Target target) {
        Pool pool = Pool.of(n);
        int[] dims = g.value(n.input(0)).shape().dims();
        long cols = dims[dims.length - 1], rows = dims.length == 2 ? dims[0] : 1, width = pool.width();
        Buffer px = new Buffer("x", OpBuilder.scalar(g.value(n.input(0)).dtype()), rows * cols);
        Buffer py = new Buffer("y", ScalarType.F32, rows * width);
        boolean weighted = pool.mode() != Mode.TF && pool.weights() != null;

        // The tables: items of every length, then the columns; gains parallel to the columns.
        List<Long> table = new ArrayList<>();
        for (Grams gr : pool.grams()) for (long v : gr.items()) table.add(v);
        long columnsAt = table.size();
        List<Float> gains = new ArrayList<>();
        for (Grams gr : pool.grams()) for (int e = 0; e < gr.count(); e++) {
            table.add(gr.columns()[e]);
            gains.add(pool.gain(gr.first() + e));
        }
        Buffer pt = new Buffer("pool", ScalarType.I64, table.size()), pg = new Buffer("gain", ScalarType.F32, gains.size());

        Expr.Var b = Exprs.var("b"), z = Exprs.var("z"), d = Exprs.var("d"), s = Exprs.var("s");
        Tables t = new Tables(b, d, s, cols, width, px, py, pt, pg, pool.mode(), weighted);
        List<Stmt> perStart = new ArrayList<>();
        long itemAt = 0, entryAt = 0, skips = 0;
        for (Grams gr : pool.grams()) {
            int len = gr.length();
            // Skips whose n-grams of this length fit in a row; a unigram is the same at every skip and counts once.
            long fit = len == 1 ? 1 : Math.min(pool.maxSkip() + 1L, (cols - 1) / (len - 1));
            if (fit > 0) perStart.add(length(gr, itemAt, columnsAt + entryAt, entryAt, t));
            skips = Math.max(skips, fit);
            itemAt += gr.items().length;
            entryAt += gr.count();
        }
        Stmt zero = new Stmt.For(z, Idx.c(0), Idx.c(width), ForKind.SERIAL, new Stmt.Store(py, Exprs.add(Idx.mul(b, width), z), Idx.lit(ScalarType.F32, 0)));
        Stmt row = perStart.isEmpty() ? zero : new Stmt.Seq(List.of(zero, new Stmt.For(d, Idx.c(0), Idx.c(skips), ForKind.SERIAL,
                new Stmt.For(s, Idx.c(0), Idx.c(cols), ForKind.SERIAL, new Stmt.Seq(perStart)))));

        List<Buffer> params = new ArrayList<>(List.of(px));
        List<String> inputs = new ArrayList<>(List.of(n.input(0)));
        if (!table.isEmpty()) {
            String name = n.output(0) + "_tfidf_pool";
            derived(g, name, Tensor.ofLongs(new Shape(table.size()), table.stream().mapToLong(Long::longValue).toArray()));
            params.add(pt);
            inputs.add(name);
        }
        if (weighted && !gains.isEmpty()) {
            float[] gv = new float[gains.size()];
            for (int i = 0; i < gv.length; i++) gv[i] = gains.get(i);
            String name = n.output(0) + "_tfidf_gain";
            derived(g, name, Tensor.ofFloats(new Shape(gv.length), gv));
            params.add(pg);
            inputs.add(name);
        }
        params.add(py);
        ForKind outer = target instanceof CpuTarget && rows > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
        String base = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(base).replaceFirst("^v_", ""), params,
                new Stmt.For(b, Idx.c(0), Idx.c(rows), outer, row));
        double work = 0;
        for (Grams gr : pool.grams()) work += (double) rows * cols * (gr.length() == 1 ? 1 : pool.maxSkip() + 1) * gr.items().length;
        return new Kernel(fn, inputs, List.of(n.output(0)), new Kernel.Info(n.name(), List.of("TfIdfVectorizer"), "ngram_match", "", work));
    }

    /** What every length's matching reads and writes: row b, skip d (distance d + 1), start s. */
    private record Tables(Expr.Var b, Expr.Var d, Expr.Var s, long cols, long width, Buffer x, Buffer y, Buffer pool, Buffer gain,
                          Mode mode, boolean weighted) {}

    /**
     * The hits of one n-gram length at skip d and start s, when the n-gram fits: items s,
     * s + (d + 1), ... of the row (loaded once, widened to int64) compared with each pool entry.
     */
    private static Stmt length(Grams gr, long itemAt, long columnAt, long entryAt, Tables t) {
        int len = gr.length();
        Expr.Var e = Exprs.var("e" + len), at = Exprs.var("at" + len);
        Expr step = Idx.add(t.d(), 1);
        List<Expr.Var> items = new ArrayList<>();
        List<Expr> same = new ArrayList<>();
        for (int j = 0; j < len; j++) {
            Expr.Var v = new Expr.Var("v" + len + "_" + j, Type.of(ScalarType.I64));
            items.add(v);
            same.add(Idx.cmp(CmpOp.EQ, v, new Expr.Load(t.pool(), Idx.add(Idx.mul(e, len), itemAt + j))));
        }
        Expr gain = t.weighted() ? new Expr.Load(t.gain(), Idx.add(e, entryAt)) : Idx.lit(ScalarType.F32, 1);
        Stmt hit = new Stmt.LetStmt(at, Exprs.add(Idx.mul(t.b(), t.width()), new Expr.Load(t.pool(), Idx.add(e, columnAt))),
                new Stmt.Store(t.y(), at, t.mode() == Mode.IDF ? gain : Exprs.add(new Expr.Load(t.y(), at), gain)));
        Stmt body = new Stmt.For(e, Idx.c(0), Idx.c(gr.count()), ForKind.SERIAL, new Stmt.IfThenElse(Idx.all(same), hit, null));
        for (int j = len - 1; j >= 0; j--) {
            Expr pos = Exprs.add(Idx.mul(t.b(), t.cols()), t.s());
            if (j > 0) pos = Exprs.add(pos, Idx.mul(step, j));
            body = new Stmt.LetStmt(items.get(j), Exprs.cast(ScalarType.I64, new Expr.Load(t.x(), pos)), body);
        }
        // A unigram counts at the first skip only; a longer n-gram where its last item, s + (len - 1)(d + 1), is in the row.
        Expr fits = len == 1 ? Idx.cmp(CmpOp.EQ, t.d(), Idx.c(0))
                : Idx.cmp(CmpOp.LT, Exprs.add(t.s(), Idx.mul(step, len - 1)), Idx.c(t.cols()));
        return new Stmt.IfThenElse(fits, body, null);
    }

    /** Adds a constant this kernel derives from the node's attributes to the graph's initializers (see {@link Kernel}). */
    private static void derived(Graph g, String name, Tensor t) {
        Tensor prev = g.initializers().putIfAbsent(name, t);
        if (prev != null && !prev.equals(t)) throw new IllegalStateException("derived constant " + name + " exists with other values");
    }
}
