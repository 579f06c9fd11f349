package dev.kiln.irlow.transform;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.stmt.Stmt;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Structural helpers shared by the passes: rebuild a node with a function applied to each of
 * its direct children, or visit them. A pass handles the nodes it cares about in its own
 * switch and delegates every other node here, so it stays a handful of cases.
 */
public final class Children {
    private Children() {}

    /** {@code e} with {@code f} applied to each direct sub-expression (the same object if nothing changed). */
    public static Expr map(Expr e, UnaryOperator<Expr> f) {
        Expr r = switch (e) {
            case IntImm i -> i;
            case FloatImm x -> x;
            case Var v -> v;
            case Add(Expr a, Expr b) -> new Add(f.apply(a), f.apply(b));
            case Sub(Expr a, Expr b) -> new Sub(f.apply(a), f.apply(b));
            case Mul(Expr a, Expr b) -> new Mul(f.apply(a), f.apply(b));
            case Div(Expr a, Expr b) -> new Div(f.apply(a), f.apply(b));
            case Mod(Expr a, Expr b) -> new Mod(f.apply(a), f.apply(b));
            case Min(Expr a, Expr b) -> new Min(f.apply(a), f.apply(b));
            case Max(Expr a, Expr b) -> new Max(f.apply(a), f.apply(b));
            case Cmp(var op, Expr a, Expr b) -> new Cmp(op, f.apply(a), f.apply(b));
            case And(Expr a, Expr b) -> new And(f.apply(a), f.apply(b));
            case Or(Expr a, Expr b) -> new Or(f.apply(a), f.apply(b));
            case Not(Expr a) -> new Not(f.apply(a));
            case Select(Expr c, Expr t, Expr x) -> new Select(f.apply(c), f.apply(t), f.apply(x));
            case Cast(var t, Expr v) -> new Cast(t, f.apply(v));
            case Load(var buf, Expr index) -> new Load(buf, f.apply(index));
            case Ramp(Expr base, Expr stride, int lanes) -> new Ramp(f.apply(base), f.apply(stride), lanes);
            case Broadcast(Expr v, int lanes) -> new Broadcast(f.apply(v), lanes);
            case Call(var t, var fn, var args) -> new Call(t, fn, args.stream().map(f).toList());
            case TensorRead(var op, var idx) -> new TensorRead(op, idx.stream().map(f).toList());
            case Reduce(var op, Expr src, var axes, var ext) -> new Reduce(op, f.apply(src), axes, ext);
        };
        return r.equals(e) ? e : r;
    }

    /** Calls {@code f} on each direct sub-expression of {@code e}. */
    public static void forEach(Expr e, Consumer<Expr> f) {
        map(e, c -> {
            f.accept(c);
            return c;
        });
    }

    /**
     * {@code s} with {@code fs} applied to each direct sub-statement and {@code fe} to each
     * direct expression (bounds, indices, values, conditions).
     */
    public static Stmt map(Stmt s, UnaryOperator<Stmt> fs, UnaryOperator<Expr> fe) {
        return switch (s) {
            case Stmt.For(var v, Expr min, Expr ext, var kind, Stmt body) ->
                    new Stmt.For(v, fe.apply(min), fe.apply(ext), kind, fs.apply(body));
            case Stmt.Store(var buf, Expr index, Expr value) -> new Stmt.Store(buf, fe.apply(index), fe.apply(value));
            case Stmt.LetStmt(var v, Expr value, Stmt body) -> new Stmt.LetStmt(v, fe.apply(value), fs.apply(body));
            case Stmt.IfThenElse(Expr c, Stmt t, Stmt o) ->
                    new Stmt.IfThenElse(fe.apply(c), fs.apply(t), o == null ? null : fs.apply(o));
            case Stmt.Allocate(var buf, Stmt body) -> new Stmt.Allocate(buf, fs.apply(body));
            case Stmt.Barrier b -> b;
            case Stmt.Seq(var stmts) -> {
                List<Stmt> r = new ArrayList<>(stmts.size());
                for (Stmt x : stmts) r.add(fs.apply(x));
                yield new Stmt.Seq(r);
            }
        };
    }

    /** Calls {@code fs} on each direct sub-statement and {@code fe} on each direct expression. */
    public static void forEach(Stmt s, Consumer<Stmt> fs, Consumer<Expr> fe) {
        map(s, x -> {
            fs.accept(x);
            return x;
        }, x -> {
            fe.accept(x);
            return x;
        });
    }
}
