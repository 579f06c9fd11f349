package dev.kiln.schedules.ops;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.List;

/**
 * A stable bottom-up merge sort written as loop IR (the IR has no sort and no while loop):
 * {@code ceil(log2(max))} passes, each merging neighbouring runs of the keys into a second
 * buffer and copying them back, so n log n comparisons for n keys. The keys are int64 (positions
 * or ids); the order is a statement that compares two of them, so it can loop (a slice compared
 * element by element).
 */
final class LoopSort {
    private LoopSort() {}

    /** Writes 1 into {@code flag[0]} when key {@code right} must come before key {@code left}, else 0. */
    @FunctionalInterface
    interface Precedes {
        Stmt write(Expr right, Expr left, Buffer flag);
    }

    /**
     * Sorts {@code keys[0 .. n)} (n at most {@code max}, known when the statement runs) with
     * {@code tmp} (at least n) as the merge target; equal keys keep their order. Loop variables
     * and the sort's own state buffers are named after {@code prefix}, unique in the kernel.
     */
    static Stmt sort(String prefix, Buffer keys, Buffer tmp, Expr n, long max, Precedes precedes) {
        Buffer state = new Buffer(prefix + "_state", ScalarType.I64, 3), flag = new Buffer(prefix + "_flag", ScalarType.I64, 1);
        Expr.Var pass = Exprs.var(prefix + "_pass"), block = Exprs.var(prefix + "_block"), k = Exprs.var(prefix + "_k");
        Expr.Var copy = Exprs.var(prefix + "_copy"), w = Exprs.var(prefix + "_w"), count = Exprs.var(prefix + "_n");
        Expr.Var lo = Exprs.var(prefix + "_lo"), mid = Exprs.var(prefix + "_mid"), hi = Exprs.var(prefix + "_hi");
        Expr.Var i = Exprs.var(prefix + "_i"), j = Exprs.var(prefix + "_j");
        Expr width = load(state, 0), ci = load(state, 1), cj = load(state, 2);
        Stmt takeLeft = seq(new Stmt.Store(tmp, k, new Expr.Load(keys, i)), new Stmt.Store(state, Idx.c(1), Idx.add(i, 1)));
        Stmt takeRight = seq(new Stmt.Store(tmp, k, new Expr.Load(keys, j)), new Stmt.Store(state, Idx.c(2), Idx.add(j, 1)));
        Stmt compare = seq(precedes.write(new Expr.Load(keys, j), new Expr.Load(keys, i), flag),
                new Stmt.IfThenElse(Idx.cmp(CmpOp.NE, load(flag, 0), Idx.c(0)), takeRight, takeLeft));
        Stmt step = new Stmt.LetStmt(i, ci, new Stmt.LetStmt(j, cj, new Stmt.IfThenElse(Exprs.ge(i, mid), takeRight,
                new Stmt.IfThenElse(Exprs.ge(j, hi), takeLeft, compare))));
        Expr twice = Exprs.add(w, w);
        Stmt merge = new Stmt.LetStmt(lo, Exprs.mul(block, twice), new Stmt.LetStmt(mid, Exprs.min(Exprs.add(lo, w), count),
                new Stmt.LetStmt(hi, Exprs.min(Exprs.add(lo, twice), count), seq(
                        new Stmt.Store(state, Idx.c(1), lo), new Stmt.Store(state, Idx.c(2), mid),
                        new Stmt.For(k, lo, Exprs.sub(hi, lo), ForKind.SERIAL, step)))));
        Stmt onePass = new Stmt.LetStmt(w, width, seq(
                new Stmt.For(block, Idx.c(0), Exprs.div(Exprs.add(count, Idx.add(twice, -1)), twice), ForKind.SERIAL, merge),
                new Stmt.For(copy, Idx.c(0), count, ForKind.SERIAL, new Stmt.Store(keys, copy, new Expr.Load(tmp, copy))),
                new Stmt.Store(state, Idx.c(0), twice)));
        int passes = 64 - Long.numberOfLeadingZeros(Math.max(1, max - 1));
        return new Stmt.Allocate(state, new Stmt.Allocate(flag, new Stmt.LetStmt(count, n, seq(
                new Stmt.Store(state, Idx.c(0), Idx.c(1)),
                new Stmt.For(pass, Idx.c(0), Idx.c(passes), ForKind.SERIAL, onePass)))));
    }

    static Expr load(Buffer b, long i) {
        return new Expr.Load(b, Idx.c(i));
    }

    /** Statements in order (the kernels written out as loop IR share it). */
    static Stmt seq(Stmt... s) {
        return s.length == 1 ? s[0] : new Stmt.Seq(List.of(s));
    }
}
