package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.List;

/**
 * MaxUnpool as loop IR (a scatter, which tensor expressions cannot state): the output zeroed,
 * then each input element stored at its flat index, in input order, so of two elements with
 * one index the later wins; an index outside the output writes nothing. Semantics:
 * {@link dev.kiln.irhigh.ops.MaxUnpool}.
 */
final class MaxUnpoolKernel {
    private MaxUnpoolKernel() {}

    static Kernel kernel(Node n, Graph g) {
        long count = g.value(n.input(0)).shape().numel(), size = g.value(n.output(0)).shape().numel();
        Buffer x = new Buffer("x", OpBuilder.scalar(g.value(n.input(0)).dtype()), count);
        Buffer idx = new Buffer("indices", OpBuilder.scalar(g.value(n.input(1)).dtype()), count);
        Buffer y = new Buffer("y", x.dtype(), size);
        Expr.Var e = Exprs.var("e"), j = Exprs.var("j"), at = Exprs.var("at");
        Stmt body = new Stmt.Seq(List.of(
                new Stmt.For(e, Idx.c(0), Idx.c(size), ForKind.SERIAL, new Stmt.Store(y, e, Idx.lit(x.dtype(), 0))),
                new Stmt.For(j, Idx.c(0), Idx.c(count), ForKind.SERIAL, new Stmt.LetStmt(at, Idx.asIndex(new Expr.Load(idx, j)),
                        new Stmt.IfThenElse(Idx.within(at, 0, size), new Stmt.Store(y, at, new Expr.Load(x, j)), null)))));
        String base = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc f = new PrimFunc("k_" + OpBuilder.sanitize(base).replaceFirst("^v_", ""), List.of(x, idx, y), body);
        return new Kernel(f, List.of(n.input(0), n.input(1)), List.of(n.output(0)),
                new Kernel.Info(n.name(), List.of("MaxUnpool"), "scatter", "", 0));
    }
}
