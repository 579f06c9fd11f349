package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.LoopSort.seq;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
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
import java.util.Arrays;
import java.util.List;

/**
 * TopK as loop IR, O(n log k) per row (the IR has no sort, and tensor expressions could only rank
 * each element against all others, quadratic in the axis length). Per row: a binary heap of the
 * k best entries so far, whose root is the worst of them; each later element that beats the root
 * replaces it and sifts down; a heapsort then leaves them best first. One entry beats another
 * with a better value, or an equal value at a lower position, so the result is sorted with ties
 * by position (also a valid answer for {@code sorted=0}). Rows run in parallel on a CPU.
 * fp16 and bfloat16 compare in fp32 (the same order). Semantics: {@code dev.kiln.irhigh.ops.TopK}.
 */
final class TopKKernel {
    private TopKKernel() {}

    static Kernel kernel(Node n, Graph g, Target target) {
        long[] x = g.value(n.input(0)).shape().longDims();
        int a = Math.floorMod(n.attrInt("axis", -1), x.length); // shape inference checked its range
        boolean hasValues = !n.output(0).isEmpty(), hasIndices = n.outputs().size() > 1 && !n.output(1).isEmpty();
        long k = g.value(hasValues ? n.output(0) : n.output(1)).shape().longDims()[a];
        long len = x[a], inner = Idx.numel(Arrays.copyOfRange(x, a + 1, x.length));
        long[] around = x.clone();
        around[a] = 1;
        long rows = Idx.numel(around);
        ScalarType xt = OpBuilder.scalar(g.value(n.input(0)).dtype());
        ScalarType t = HalfPromotion.narrow(xt) ? ScalarType.F32 : xt;
        Buffer px = new Buffer("x", xt, Idx.numel(x)), py = new Buffer("values", xt, rows * k), pi = new Buffer("indices", ScalarType.I64, rows * k);
        Heap heap = new Heap(new Buffer("heap_values", t, k), new Buffer("heap_indices", ScalarType.I64, k),
                new Buffer("sift_at", ScalarType.I64, 1), n.attrInt("largest", 1) != 0, 63 - Long.numberOfLeadingZeros(Math.max(k, 1)));

        // Row r is position (r / inner, r % inner) of the dimensions around the axis; its elements are inner apart.
        Expr.Var r = Exprs.var("r"), base = Exprs.var("base"), outBase = Exprs.var("out_base");
        Expr before = inner == 1 ? r : Exprs.div(r, Idx.c(inner)), after = inner == 1 ? Idx.c(0) : Exprs.mod(r, Idx.c(inner));
        Expr.Var f = Exprs.var("f"), h = Exprs.var("h"), s = Exprs.var("s"), e = Exprs.var("e"), j = Exprs.var("j");
        Expr.Var v = new Expr.Var("value", Type.of(t)), last = Exprs.var("last");
        java.util.function.Function<Expr, Expr> element = i -> Exprs.cast(t, new Expr.Load(px, Exprs.add(base, Idx.mul(i, inner))));
        List<Stmt> row = new ArrayList<>();
        row.add(new Stmt.For(f, Idx.c(0), Idx.c(k), ForKind.SERIAL,
                seq(new Stmt.Store(heap.values, f, element.apply(f)), new Stmt.Store(heap.indices, f, f))));
        if (k / 2 > 0)
            row.add(new Stmt.For(h, Idx.c(0), Idx.c(k / 2), ForKind.SERIAL, heap.siftDown("build", Exprs.sub(Idx.c(k / 2 - 1), h), Idx.c(k))));
        // A later element has a higher position than every kept one, so only a strictly better value beats the root.
        Expr beatsRoot = heap.largest ? Idx.cmp(CmpOp.GT, v, heap.value(Idx.c(0))) : Exprs.lt(v, heap.value(Idx.c(0)));
        if (len > k)
            row.add(new Stmt.For(s, Idx.c(k), Idx.c(len - k), ForKind.SERIAL, new Stmt.LetStmt(v, element.apply(s),
                    new Stmt.IfThenElse(beatsRoot, seq(new Stmt.Store(heap.values, Idx.c(0), v), new Stmt.Store(heap.indices, Idx.c(0), s),
                            heap.siftDown("scan", Idx.c(0), Idx.c(k))), null))));
        // Heapsort: the root (the worst left) goes to the end, so the best ends up first.
        if (k > 1)
            row.add(new Stmt.For(e, Idx.c(0), Idx.c(k - 1), ForKind.SERIAL, new Stmt.LetStmt(last, Exprs.sub(Idx.c(k - 1), e),
                    seq(heap.swap("root", Idx.c(0), last), heap.siftDown("sort", Idx.c(0), last)))));
        Expr out = Exprs.add(outBase, Idx.mul(j, inner));
        List<Stmt> write = new ArrayList<>();
        if (hasValues) write.add(new Stmt.Store(py, out, Exprs.cast(xt, heap.value(j))));
        if (hasIndices) write.add(new Stmt.Store(pi, out, heap.index(j)));
        row.add(new Stmt.For(j, Idx.c(0), Idx.c(k), ForKind.SERIAL, seq(write.toArray(Stmt[]::new))));
        Stmt perRow = new Stmt.LetStmt(base, Exprs.add(Idx.mul(before, len * inner), after),
                new Stmt.LetStmt(outBase, Exprs.add(Idx.mul(before, k * inner), after), new Stmt.Seq(row)));

        // Parallel rows each need their own heap. Serial rows (a GPU runs this on one thread) share
        // one allocated outside the loop, which the executor hoists into its workspace: a GPU
        // thread holds at most 16 KiB privately, and k may be large.
        boolean parallel = target instanceof CpuTarget && rows > 1;
        Stmt body = k == 0 || rows == 0 ? new Stmt.Seq(List.of())
                : parallel ? new Stmt.For(r, Idx.c(0), Idx.c(rows), ForKind.PARALLEL, heap.allocate(perRow))
                : heap.allocate(new Stmt.For(r, Idx.c(0), Idx.c(rows), ForKind.SERIAL, perRow));
        List<Buffer> params = new ArrayList<>(List.of(px));
        List<String> outputs = new ArrayList<>();
        if (hasValues) {
            params.add(py);
            outputs.add(n.output(0));
        }
        if (hasIndices) {
            params.add(pi);
            outputs.add(n.output(1));
        }
        String name = n.name().isEmpty() ? outputs.getFirst() : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(name).replaceFirst("^v_", ""), params, body);
        return new Kernel(fn, List.of(n.input(0)), outputs, new Kernel.Info(n.name(), List.of("TopK"), "top_k", "", Work.flops(n, g)));
    }

    /**
     * The kept entries of one row, a binary heap in two arrays (values, positions) whose root is
     * the worst entry: every parent is beaten by its children. {@code at} holds the position a
     * sift-down has reached (the IR has no mutable scalars); {@code depth} is the most levels an
     * entry can move down, floor(log2 k).
     */
    private record Heap(Buffer values, Buffer indices, Buffer at, boolean largest, int depth) {
        Expr value(Expr i) {
            return new Expr.Load(values, i);
        }

        Expr index(Expr i) {
            return new Expr.Load(indices, i);
        }

        /** Whether entry i goes before entry j: a better value, or an equal value at a lower position. */
        Expr beats(Expr i, Expr j) {
            Expr vi = value(i), vj = value(j);
            Expr better = largest ? Idx.cmp(CmpOp.GT, vi, vj) : Exprs.lt(vi, vj);
            return new Expr.Or(better, Exprs.and(Idx.cmp(CmpOp.EQ, vi, vj), Exprs.lt(index(i), index(j))));
        }

        Stmt swap(String tag, Expr i, Expr j) {
            Expr.Var v = new Expr.Var("swap_value_" + tag, Type.of(values.dtype())), x = Exprs.var("swap_index_" + tag);
            return new Stmt.LetStmt(v, value(i), new Stmt.LetStmt(x, index(i), seq(
                    new Stmt.Store(values, i, value(j)), new Stmt.Store(indices, i, index(j)),
                    new Stmt.Store(values, j, v), new Stmt.Store(indices, j, x))));
        }

        /**
         * Moves the entry at {@code start} down the heap of the first {@code size} entries until
         * it beats neither child: one bounded loop level per tree level, each swapping it with
         * its worse child or, once it is in place, ending the walk. {@code tag} keeps the loop's
         * and the lets' names unique in the kernel.
         */
        Stmt siftDown(String tag, Expr start, Expr size) {
            if (depth == 0) return new Stmt.Seq(List.of());
            Expr.Var level = Exprs.var("level_" + tag), p = Exprs.var("p_" + tag), l = Exprs.var("l_" + tag);
            Expr.Var rr = Exprs.var("r_" + tag), c = Exprs.var("c_" + tag);
            Expr here = new Expr.Load(at, Idx.c(0));
            // Without a right child, r is l itself, which never beats itself: c is then l.
            Stmt step = new Stmt.LetStmt(p, here, new Stmt.LetStmt(l, Idx.add(Idx.mul(p, 2), 1), new Stmt.IfThenElse(Exprs.lt(l, size),
                    new Stmt.LetStmt(rr, Exprs.min(Idx.add(l, 1), Idx.add(size, -1)), new Stmt.LetStmt(c, Exprs.select(beats(l, rr), rr, l),
                            new Stmt.IfThenElse(beats(p, c), seq(swap(tag, p, c), new Stmt.Store(at, Idx.c(0), c)),
                                    new Stmt.Store(at, Idx.c(0), size)))), null)));
            return seq(new Stmt.Store(at, Idx.c(0), start), new Stmt.For(level, Idx.c(0), Idx.c(depth), ForKind.SERIAL, step));
        }

        Stmt allocate(Stmt body) {
            return new Stmt.Allocate(values, new Stmt.Allocate(indices, new Stmt.Allocate(at, body)));
        }
    }
}
