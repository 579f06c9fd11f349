package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.List;

/**
 * Det as loop IR (elimination is sequential by nature): per matrix, a double-precision copy,
 * then for each column the row with the largest magnitude is swapped up (negating the
 * determinant), multiplied into it, and eliminated below. Matrices run in parallel on a CPU.
 * Semantics: {@link dev.kiln.irhigh.ops.Det}.
 */
final class DetKernel {
    private DetKernel() {}

    static Kernel kernel(Node n, Graph g, Target target) {
        int[] dims = g.value(n.input(0)).shape().dims();
        int m = dims[dims.length - 1];
        long count = g.value(n.output(0)).shape().numel();
        ScalarType xt = OpBuilder.scalar(g.value(n.input(0)).dtype()), t = ScalarType.F64;
        Buffer px = new Buffer("x", xt, count * m * m), py = new Buffer("y", xt, count);
        Buffer a = new Buffer("a", t, (long) m * m), det = new Buffer("det", t, 1), piv = new Buffer("pivot_row", ScalarType.I64, 1);
        Expr.Var b = Exprs.var("b"), i = Exprs.var("i"), j = Exprs.var("j"), k = Exprs.var("k"), p = Exprs.var("p");
        // Loop names are unique in a kernel: each loop gets its own variable.
        Expr.Var ic = Exprs.var("ic"), ip = Exprs.var("ip"), js = Exprs.var("js");
        Expr.Var pivot = new Expr.Var("pivot", Type.of(t)), f = new Expr.Var("f", Type.of(t)), tmp = new Expr.Var("tmp", Type.of(t));
        java.util.function.BiFunction<Expr, Expr, Expr> at = (r, c) -> Exprs.add(Idx.mul(r, m), c);
        java.util.function.BiFunction<Expr, Expr, Expr> ld = (r, c) -> new Expr.Load(a, at.apply(r, c));
        Stmt copy = new Stmt.For(ic, Idx.c(0), Idx.c((long) m * m), ForKind.SERIAL,
                new Stmt.Store(a, ic, Exprs.cast(t, new Expr.Load(px, Exprs.add(Idx.mul(b, (long) m * m), ic)))));
        // The pivot row: the first of the largest magnitudes in column k at or below row k.
        Expr abs = Exprs.call(Intrinsic.ABS, ld.apply(ip, k));
        Expr best = Exprs.call(Intrinsic.ABS, ld.apply(new Expr.Load(piv, Idx.c(0)), k));
        Stmt findPivot = new Stmt.Seq(List.of(new Stmt.Store(piv, Idx.c(0), k),
                new Stmt.For(ip, Idx.add(k, 1), Exprs.sub(Idx.c(m - 1), k), ForKind.SERIAL,
                        new Stmt.IfThenElse(Idx.cmp(CmpOp.GT, abs, best), new Stmt.Store(piv, Idx.c(0), ip), null))));
        Stmt swap = new Stmt.IfThenElse(Idx.cmp(CmpOp.NE, p, k), new Stmt.Seq(List.of(
                new Stmt.For(js, Idx.c(0), Idx.c(m), ForKind.SERIAL, new Stmt.LetStmt(tmp, ld.apply(k, js), new Stmt.Seq(List.of(
                        new Stmt.Store(a, at.apply(k, js), ld.apply(p, js)), new Stmt.Store(a, at.apply(p, js), tmp))))),
                new Stmt.Store(det, Idx.c(0), Exprs.sub(Idx.lit(t, 0), new Expr.Load(det, Idx.c(0)))))), null);
        Stmt eliminate = new Stmt.For(i, Idx.add(k, 1), Exprs.sub(Idx.c(m - 1), k), ForKind.SERIAL,
                new Stmt.LetStmt(f, Exprs.div(ld.apply(i, k), pivot), new Stmt.For(j, k, Exprs.sub(Idx.c(m), k), ForKind.SERIAL,
                        new Stmt.Store(a, at.apply(i, j), Exprs.sub(ld.apply(i, j), Exprs.mul(f, ld.apply(k, j)))))));
        Stmt column = new Stmt.Seq(List.of(findPivot, new Stmt.LetStmt(p, new Expr.Load(piv, Idx.c(0)), new Stmt.Seq(List.of(swap,
                new Stmt.LetStmt(pivot, ld.apply(k, k), new Stmt.Seq(List.of(
                        new Stmt.Store(det, Idx.c(0), Exprs.mul(new Expr.Load(det, Idx.c(0)), pivot)),
                        new Stmt.IfThenElse(Idx.cmp(CmpOp.NE, pivot, Idx.lit(t, 0)), eliminate, null)))))))));
        Stmt matrix = new Stmt.Allocate(a, new Stmt.Allocate(det, new Stmt.Allocate(piv, new Stmt.Seq(List.of(
                copy, new Stmt.Store(det, Idx.c(0), Idx.lit(t, 1)),
                new Stmt.For(k, Idx.c(0), Idx.c(m), ForKind.SERIAL, column),
                new Stmt.Store(py, b, Exprs.cast(xt, new Expr.Load(det, Idx.c(0)))))))));
        ForKind outer = target instanceof CpuTarget && count > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
        String base = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(base).replaceFirst("^v_", ""), List.of(px, py),
                new Stmt.For(b, Idx.c(0), Idx.c(count), outer, matrix));
        return new Kernel(fn, List.of(n.input(0)), List.of(n.output(0)), new Kernel.Info(n.name(), List.of("Det"), "det", "", 2.0 / 3 * m * m * m * count));
    }
}
