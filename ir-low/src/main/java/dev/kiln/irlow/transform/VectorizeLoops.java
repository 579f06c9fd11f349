package dev.kiln.irlow.transform;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds.Interval;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns innermost {@code vectorized} loops of constant extent 2..64 into vector code: the loop
 * variable becomes {@code ramp(min, 1, n)}, expressions that depend on it are widened (ramps stay
 * ramps where the index is affine, so loads and stores are contiguous; other indices become
 * gathers and scatters), and the rest stays scalar. A condition that depends on the variable
 * turns guarded stores into {@code store(select(cond, new, old))}, only when every lane's loads
 * and store are provably in bounds and no enclosing loop runs in parallel (the write-back of old
 * values would race). Anything else is left as a vectorized loop for LLVM's loop vectorizer.
 */
public final class VectorizeLoops {
    private final Map<String, Interval> ranges = new HashMap<>();
    private int parallelDepth;

    private VectorizeLoops() {}

    public static PrimFunc run(PrimFunc f) {
        return f.withBody(run(f.body()));
    }

    public static Stmt run(Stmt s) {
        return new VectorizeLoops().visit(s);
    }

    /** Why a loop cannot be vectorized here; the loop is then left as it is. */
    private static final class CannotVectorize extends RuntimeException {
        CannotVectorize(String why) {
            super(why, null, false, false);
        }
    }

    private Stmt visit(Stmt s) {
        return switch (s) {
            case Stmt.For f -> {
                Interval range = loopRange(f.min(), f.extent());
                boolean par = f.kind() == ForKind.PARALLEL || f.kind().isGpu();
                Interval old = ranges.put(f.var().name(), range);
                if (par) parallelDepth++;
                Stmt body = visit(f.body());
                if (par) parallelDepth--;
                restore(f.var().name(), old);
                Stmt.For g = new Stmt.For(f.var(), f.min(), f.extent(), f.kind(), body);
                if (g.kind() != ForKind.VECTORIZED) yield g;
                try {
                    yield vectorize(g);
                } catch (CannotVectorize e) {
                    yield g;
                }
            }
            case Stmt.LetStmt(Var v, Expr value, Stmt body) -> {
                Interval old = ranges.put(v.name(), Bounds.of(value, ranges));
                Stmt b = visit(body);
                restore(v.name(), old);
                yield new Stmt.LetStmt(v, value, b);
            }
            default -> Children.map(s, this::visit, e -> e);
        };
    }

    private Interval loopRange(Expr min, Expr extent) {
        Interval m = Bounds.of(min, ranges), e = Bounds.of(extent, ranges);
        long hi = m.hi() == Bounds.POS_INF || e.hi() == Bounds.POS_INF ? Bounds.POS_INF : m.hi() + e.hi() - 1;
        return new Interval(m.lo(), hi);
    }

    private void restore(String name, Interval old) {
        if (old == null) ranges.remove(name);
        else ranges.put(name, old);
    }

    // ---- one loop ----

    private Stmt vectorize(Stmt.For f) {
        if (!(f.extent() instanceof IntImm(Type t, long n)) || n < 2 || n > 64) throw new CannotVectorize("extent is not a constant in 2..64");
        if (Vars.anyStmt(f.body(), x -> x instanceof Stmt.For || x instanceof Stmt.Allocate))
            throw new CannotVectorize("body has a loop or an allocation");
        Set<String> needInjective = checkDependences(f.body(), f.var().name());
        Interval old = ranges.put(f.var().name(), loopRange(f.min(), f.extent()));
        try {
            return new Widen(f.var(), f.min(), (int) n, needInjective).stmt(f.body(), null);
        } finally {
            restore(f.var().name(), old);
        }
    }

    /**
     * Lanes run at once, so a lane may not read what an earlier iteration wrote elsewhere: every
     * load and store of a buffer the loop writes must use the same index. Returns the buffers
     * that are written and also read or written twice: their index must map lanes one to one.
     */
    private static Set<String> checkDependences(Stmt body, String var) {
        Map<String, List<Expr>> stores = new HashMap<>();
        collectStores(body, stores);
        Map<String, Set<Expr>> read = new HashMap<>();
        collectLoads(body, read);
        Set<String> needInjective = new HashSet<>();
        for (var w : stores.entrySet()) {
            Set<Expr> all = new HashSet<>(w.getValue());
            all.addAll(read.getOrDefault(w.getKey(), Set.of()));
            if (all.size() != 1) throw new CannotVectorize(w.getKey() + " is written and accessed at different indices");
            if (!Vars.uses(all.iterator().next(), var)) throw new CannotVectorize(w.getKey() + " is written at an index that does not depend on the loop");
            if (read.containsKey(w.getKey()) || w.getValue().size() > 1) needInjective.add(w.getKey());
        }
        return needInjective;
    }

    private static void collectStores(Stmt s, Map<String, List<Expr>> out) {
        if (s instanceof Stmt.Store st) out.computeIfAbsent(st.buffer().name(), k -> new ArrayList<>()).add(st.index());
        Children.forEach(s, c -> collectStores(c, out), e -> {});
    }

    private static void collectLoads(Stmt s, Map<String, Set<Expr>> out) {
        Children.forEach(s, c -> collectLoads(c, out), e -> collectLoads(e, out));
    }

    private static void collectLoads(Expr e, Map<String, Set<Expr>> out) {
        if (e instanceof Load l) out.computeIfAbsent(l.buffer().name(), k -> new HashSet<>()).add(l.index());
        Children.forEach(e, c -> collectLoads(c, out));
    }

    /** Widening of one loop body to {@code lanes} lanes. */
    private final class Widen {
        final String var;
        final Expr ramp;
        final int lanes;
        final Map<String, Var> vectorLets = new HashMap<>();
        final Simplify simplify = new Simplify(ranges);
        final Set<String> needInjective;

        Widen(Var v, Expr min, int lanes, Set<String> needInjective) {
            this.needInjective = needInjective;
            this.var = v.name();
            this.lanes = lanes;
            this.ramp = new Ramp(min, new IntImm(min.type(), 1), lanes);
        }

        Stmt stmt(Stmt s, Expr mask) {
            return switch (s) {
                case Stmt.Store(Buffer buf, Expr index, Expr value) -> {
                    Expr i = expr(index), v = vec(expr(value));
                    boolean injective = i instanceof Ramp(Expr b, Expr st, int n) && Simplify.intConst(st) instanceof Long c && c != 0;
                    if (!i.type().isVector()) throw new CannotVectorize("store to " + buf.name() + " at an index that does not depend on the loop");
                    // A scatter is fine alone; lanes that may collide must not also read or be masked.
                    if (!injective && (mask != null || needInjective.contains(buf.name())))
                        throw new CannotVectorize("store to " + buf.name() + " at " + i + " may map two lanes to one element");
                    if (mask != null) {
                        if (parallelDepth > 0) throw new CannotVectorize("guarded store inside a parallel loop");
                        v = new Select(mask, v, new Load(buf, i));
                        requireInBounds(v);
                        requireInBounds(buf, i);
                    }
                    yield new Stmt.Store(buf, i, v);
                }
                case Stmt.Seq(List<Stmt> stmts) -> {
                    List<Stmt> out = new ArrayList<>();
                    for (Stmt x : stmts) out.add(stmt(x, mask));
                    yield new Stmt.Seq(out);
                }
                case Stmt.LetStmt(Var v, Expr value, Stmt body) -> {
                    Expr w = expr(value);
                    if (mask != null) requireInBounds(w);
                    if (!w.type().isVector()) yield new Stmt.LetStmt(v, w, stmt(body, mask));
                    Var wide = new Var(v.name(), w.type());
                    vectorLets.put(v.name(), wide);
                    yield new Stmt.LetStmt(wide, w, stmt(body, mask));
                }
                case Stmt.IfThenElse(Expr c, Stmt then, Stmt otherwise) -> {
                    Expr cond = expr(c);
                    if (!cond.type().isVector())
                        yield new Stmt.IfThenElse(cond, stmt(then, mask), otherwise == null ? null : stmt(otherwise, mask));
                    Expr m = mask == null ? cond : new And(mask, cond);
                    Stmt t = stmt(then, m);
                    if (otherwise == null) yield t;
                    Expr notC = new Not(cond);
                    yield new Stmt.Seq(List.of(t, stmt(otherwise, mask == null ? notC : new And(mask, notC))));
                }
                case Stmt.For x -> throw new CannotVectorize("nested loop");
                case Stmt.Allocate x -> throw new CannotVectorize("allocation");
                case Stmt.Barrier x -> throw new CannotVectorize("barrier");
            };
        }

        /** The widened expression: a vector if it depends on the loop variable, else the scalar itself. */
        Expr expr(Expr e) {
            return switch (e) {
                case Var v when v.name().equals(var) -> ramp;
                case Var v -> vectorLets.getOrDefault(v.name(), v);
                case IntImm i -> i;
                case FloatImm x -> x;
                case Ramp r -> throw new CannotVectorize("already a vector");
                case Broadcast b -> throw new CannotVectorize("already a vector");
                case TensorRead r -> throw new CannotVectorize("unlowered tensor read");
                case Reduce r -> throw new CannotVectorize("unlowered reduction");
                case Add(Expr a, Expr b) -> binary(e, a, b, (x, y) -> simplify.add(x, y));
                case Sub(Expr a, Expr b) -> binary(e, a, b, (x, y) -> simplify.sub(x, y));
                case Mul(Expr a, Expr b) -> binary(e, a, b, (x, y) -> simplify.mul(x, y));
                case Div(Expr a, Expr b) -> binary(e, a, b, (x, y) -> simplify.div(x, y));
                case Mod(Expr a, Expr b) -> binary(e, a, b, (x, y) -> simplify.mod(x, y));
                case Min(Expr a, Expr b) -> binary(e, a, b, Min::new);
                case Max(Expr a, Expr b) -> binary(e, a, b, Max::new);
                case And(Expr a, Expr b) -> binary(e, a, b, And::new);
                case Or(Expr a, Expr b) -> binary(e, a, b, Or::new);
                case Cmp(var op, Expr a, Expr b) -> binary(e, a, b, (x, y) -> simplify.cmp(op, x, y));
                case Not(Expr a) -> {
                    Expr x = expr(a);
                    yield x.type().isVector() ? new Not(x) : e;
                }
                case Select(Expr c, Expr t, Expr f) -> {
                    Expr x = expr(c), y = expr(t), z = expr(f);
                    if (!x.type().isVector() && !y.type().isVector() && !z.type().isVector()) yield e;
                    yield new Select(vec(x), vec(y), vec(z));
                }
                case Cast(Type t, Expr v) -> {
                    Expr x = expr(v);
                    yield x.type().isVector() ? new Cast(t.withLanes(lanes), x) : e;
                }
                case Call(Type t, var fn, List<Expr> args) -> {
                    List<Expr> w = args.stream().map(this::expr).toList();
                    if (w.stream().noneMatch(x -> x.type().isVector())) yield e;
                    yield new Call(t.withLanes(lanes), fn, w.stream().map(this::vec).toList());
                }
                case Load(Buffer buf, Expr index) -> {
                    Expr i = expr(index);
                    yield i.type().isVector() ? new Load(buf, i) : e; // an invariant load stays scalar (broadcast at use)
                }
            };
        }

        Expr binary(Expr original, Expr a, Expr b, java.util.function.BinaryOperator<Expr> op) {
            Expr x = expr(a), y = expr(b);
            if (!x.type().isVector() && !y.type().isVector()) return original;
            return op.apply(vec(x), vec(y));
        }

        Expr vec(Expr e) {
            return e.type().isVector() ? e : new Broadcast(e, lanes);
        }

        void requireInBounds(Expr e) {
            if (e instanceof Load(Buffer buf, Expr index)) requireInBounds(buf, index);
            Children.forEach(e, this::requireInBounds);
        }

        void requireInBounds(Buffer buf, Expr index) {
            if (!Bounds.of(index, ranges).within(buf.size()))
                throw new CannotVectorize("cannot prove " + buf.name() + "[" + index + "] in bounds for every lane");
        }
    }
}
