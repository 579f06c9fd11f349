package dev.kiln.schedules;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds;
import dev.kiln.irlow.transform.Bounds.Interval;
import dev.kiln.irlow.transform.Children;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The loads and stores of one buffer below a loop, each with the ranges of the loops around it:
 * symbolic for the loops inside the loop (what a region is taken over), numeric for every
 * enclosing loop (what proves an index stays in a dimension). Also small queries on buffers.
 */
final class Accesses {
    /** One load or store of the buffer. */
    record Access(Expr index, boolean store, Map<String, Regions.Range> inner, Map<String, Interval> ranges) {}

    final List<Access> list = new ArrayList<>();
    /** Numeric ranges of the variables in scope at the top of the loop's body, its own included. */
    Map<String, Interval> outer = Map.of();
    private final String loop, buffer;

    private Accesses(String loop, String buffer) {
        this.loop = loop;
        this.buffer = buffer;
    }

    /** The accesses of {@code buffer} below {@code loop}, or in all of {@code root} when loop is null. */
    static Accesses below(Stmt root, String loop, String buffer) {
        Accesses a = new Accesses(loop, buffer);
        a.walk(root, loop == null ? new HashMap<>() : null, new HashMap<>());
        return a;
    }

    List<Expr> indices() {
        return list.stream().map(Access::index).toList();
    }

    boolean anyStore() {
        return list.stream().anyMatch(Access::store);
    }

    /** {@code inner} is null outside the loop. */
    private void walk(Stmt s, Map<String, Regions.Range> inner, Map<String, Interval> ranges) {
        switch (s) {
            case Stmt.For f -> {
                scan(f.min(), inner, ranges);
                scan(f.extent(), inner, ranges);
                Interval m = Bounds.of(f.min(), ranges), e = Bounds.of(f.extent(), ranges);
                long hi = m.hi() == Bounds.POS_INF || e.hi() == Bounds.POS_INF ? Bounds.POS_INF : m.hi() + e.hi() - 1;
                Map<String, Interval> r = new HashMap<>(ranges);
                r.put(f.var().name(), new Interval(m.lo(), hi));
                Map<String, Regions.Range> in = inner;
                if (inner != null) {
                    in = new HashMap<>(inner);
                    Regions.Range lo = Regions.bound(f.min(), inner), ext = Regions.bound(f.extent(), inner);
                    in.put(f.var().name(), lo == null || ext == null || lo.lo() == null || ext.hi() == null ? null
                            : new Regions.Range(lo.lo(), dev.kiln.irlow.expr.Exprs.add(lo.hi(), dev.kiln.irlow.expr.Exprs.sub(ext.hi(), dev.kiln.irlow.expr.Exprs.idx(1)))));
                } else if (f.var().name().equals(loop)) {
                    in = new HashMap<>();
                    outer = r;
                }
                walk(f.body(), in, r);
            }
            case Stmt.LetStmt l -> {
                scan(l.value(), inner, ranges);
                Map<String, Interval> r = new HashMap<>(ranges);
                r.put(l.var().name(), Bounds.of(l.value(), ranges));
                Map<String, Regions.Range> in = inner;
                if (inner != null) {
                    in = new HashMap<>(inner);
                    in.put(l.var().name(), Regions.bound(l.value(), inner));
                }
                walk(l.body(), in, r);
            }
            case Stmt.Store st -> {
                if (inner != null && st.buffer().name().equals(buffer)) list.add(new Access(st.index(), true, inner, ranges));
                scan(st.index(), inner, ranges);
                scan(st.value(), inner, ranges);
            }
            default -> Children.forEach(s, c -> walk(c, inner, ranges), e -> scan(e, inner, ranges));
        }
    }

    private void scan(Expr e, Map<String, Regions.Range> inner, Map<String, Interval> ranges) {
        if (inner != null && e instanceof Expr.Load ld && ld.buffer().name().equals(buffer)) list.add(new Access(ld.index(), false, inner, ranges));
        Children.forEach(e, c -> scan(c, inner, ranges));
    }

    // ---- queries on buffers ----

    /** The parameter or allocation named {@code name}, or null. */
    static Buffer find(PrimFunc f, String name) {
        for (Buffer b : f.params()) if (b.name().equals(name)) return b;
        Buffer[] found = {null};
        forEachStmt(f.body(), s -> {
            if (s instanceof Stmt.Allocate a && a.buffer().name().equals(name)) found[0] = a.buffer();
        });
        return found[0];
    }

    static boolean isParam(PrimFunc f, String name) {
        return f.params().stream().anyMatch(b -> b.name().equals(name));
    }

    static boolean stores(Stmt s, String buffer) {
        boolean[] found = {false};
        forEachStmt(s, x -> found[0] |= x instanceof Stmt.Store st && st.buffer().name().equals(buffer));
        return found[0];
    }

    /** The number of loads of {@code buffer} in {@code s}. */
    static int loads(Stmt s, String buffer) {
        int[] n = {0};
        forEachStmt(s, x -> Children.forEach(x, c -> {}, e -> n[0] += loads(e, buffer)));
        return n[0];
    }

    static int loads(Expr e, String buffer) {
        int[] n = {e instanceof Expr.Load l && l.buffer().name().equals(buffer) ? 1 : 0};
        Children.forEach(e, c -> n[0] += loads(c, buffer));
        return n[0];
    }

    /** The buffers {@code s} reads and writes. */
    static void buffersOf(Stmt s, Set<String> reads, Set<String> writes) {
        forEachStmt(s, x -> {
            if (x instanceof Stmt.Store st) writes.add(st.buffer().name());
            Children.forEach(x, c -> {}, e -> readsOf(e, reads));
        });
    }

    static void readsOf(Expr e, Set<String> out) {
        if (e instanceof Expr.Load l) out.add(l.buffer().name());
        Children.forEach(e, c -> readsOf(c, out));
    }

    static void forEachStmt(Stmt s, java.util.function.Consumer<Stmt> f) {
        f.accept(s);
        Children.forEach(s, c -> forEachStmt(c, f), e -> {});
    }

    /** {@code e} with every load rewritten by {@code f}, innermost first. */
    static Expr mapLoads(Expr e, UnaryOperator<Expr.Load> f) {
        Expr x = Children.map(e, c -> mapLoads(c, f));
        return x instanceof Expr.Load l ? f.apply(l) : x;
    }

    /** {@code s} with {@code fe} applied to every expression and {@code fs} to every statement, bottom-up. */
    static Stmt mapAll(Stmt s, UnaryOperator<Stmt> fs, UnaryOperator<Expr> fe) {
        return fs.apply(Children.map(s, c -> mapAll(c, fs, fe), fe));
    }
}
