package dev.kiln.schedules;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Substitute;
import dev.kiln.irlow.transform.Vars;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Moves the initialization of a reduction next to its accumulation (TVM's decompose_reduction):
 * lowering writes a reduction as an init nest over the whole output followed by the update nest;
 * once the update nest is tiled with the reduce loops inside a tile loop, each tile can be set to
 * the init value right before its reduce loops. The separate pass over the whole output (a write
 * of every element from memory) disappears, and the zeroed tile is still in L1, or in registers,
 * when the reduction first reads it.
 */
final class ReductionInit {
    private ReductionInit() {}

    /**
     * Rewrites {@code body}: the init nest of {@code buffer} is removed, and a nest over the
     * spatial loops inside {@code reduceLoop} (those whose variables index the buffer) that stores
     * the init value is placed right before {@code reduceLoop}. Throws when {@code reduceLoop} is
     * not the outermost reduce loop of the buffer's update, or the init is not a constant store.
     * A loop that stores the buffer without reading it back (a reduction over one element,
     * lowered without an init) is left as it is.
     */
    static Stmt apply(Stmt body, String buffer, String reduceLoop) {
        Stmt.For r = find(body, reduceLoop);
        if (r == null) throw new IllegalArgumentException("no loop named " + reduceLoop);
        List<Stmt> chain = new ArrayList<>();
        Stmt.Store update = updateStore(r, buffer, chain);
        // A reduction over one element is lowered as a plain store (LowerTe): no init nest to move.
        if (update == null && Vars.anyStmt(r, s -> s instanceof Stmt.Store st && st.buffer().name().equals(buffer))) return body;
        if (update == null)
            throw new IllegalArgumentException("loop " + reduceLoop + " holds no update of " + buffer + " (a store that reads it back)");
        Set<String> spatial = Vars.of(update.index());
        if (spatial.contains(reduceLoop))
            throw new IllegalArgumentException("loop " + reduceLoop + " indexes " + buffer + ": it is not a reduce loop");
        for (String outer : enclosingLoops(body, reduceLoop))
            if (!spatial.contains(outer) && !singleIteration(body, outer) && isReduceOf(body, outer, buffer))
                throw new IllegalArgumentException("reduce loop " + outer + " (extent " + find(body, outer).extent() + ") of " + buffer + " encloses " + reduceLoop
                        + ": initializing inside it would reset partial sums");
        Expr init = initValue(body, buffer);

        Set<String> reduceVars = new HashSet<>();
        for (Stmt s : chain) if (s instanceof Stmt.For f && !spatial.contains(f.var().name())) reduceVars.add(f.var().name());
        Map<String, Expr> rename = new HashMap<>();
        for (Stmt s : chain)
            if (s instanceof Stmt.For f && spatial.contains(f.var().name()))
                rename.put(f.var().name(), new Expr.Var(f.var().name() + ".zero", f.var().type()));
        Stmt nest = new Stmt.Store(update.buffer(), Substitute.expr(update.index(), rename), init);
        for (int i = chain.size() - 1; i >= 0; i--) {
            Stmt s = chain.get(i);
            if (s instanceof Stmt.For f && rename.containsKey(f.var().name())) {
                nest = new Stmt.For((Expr.Var) rename.get(f.var().name()), Substitute.expr(f.min(), rename),
                        Substitute.expr(f.extent(), rename), f.kind(), nest);
            } else if (s instanceof Stmt.IfThenElse c && !Vars.usesAny(c.cond(), reduceVars)) {
                nest = new Stmt.IfThenElse(Substitute.expr(c.cond(), rename), nest, null);
            }
        }
        Stmt zero = nest;
        Stmt withoutInit = removeInit(body, buffer, reduceLoop);
        return replace(withoutInit, reduceLoop, zero);
    }

    /** Whether {@code loop} runs once (constant extent 1): initializing inside it resets nothing. */
    private static boolean singleIteration(Stmt body, String loop) {
        Stmt.For f = find(body, loop);
        return f != null && f.extent() instanceof Expr.IntImm(var t, long n) && n == 1;
    }

    private static Stmt.For find(Stmt s, String loop) {
        for (Stmt.For f : Vars.loops(s)) if (f.var().name().equals(loop)) return f;
        return null;
    }

    /** The store into {@code buffer} below {@code s} that reads the buffer; {@code chain} gets the loops and ifs on the way. */
    private static Stmt.Store updateStore(Stmt s, String buffer, List<Stmt> chain) {
        switch (s) {
            case Stmt.Store st -> {
                return st.buffer().name().equals(buffer) && reads(st.value(), buffer) ? st : null;
            }
            case Stmt.For f -> {
                chain.add(f);
                Stmt.Store r = updateStore(f.body(), buffer, chain);
                if (r == null) chain.removeLast();
                return r;
            }
            case Stmt.IfThenElse c -> {
                chain.add(c);
                Stmt.Store r = updateStore(c.then(), buffer, chain);
                if (r == null) chain.removeLast();
                return r;
            }
            case Stmt.Seq q -> {
                for (Stmt x : q.stmts()) {
                    Stmt.Store r = updateStore(x, buffer, chain);
                    if (r != null) return r;
                }
                return null;
            }
            case Stmt.LetStmt l -> {
                return updateStore(l.body(), buffer, chain);
            }
            case Stmt.Allocate a -> {
                return updateStore(a.body(), buffer, chain);
            }
            case Stmt.Barrier b -> {
                return null;
            }
        }
    }

    private static boolean reads(Expr e, String buffer) {
        return Accesses.loads(e, buffer) > 0;
    }

    /** Names of the loops enclosing {@code loop}, outermost first. */
    private static List<String> enclosingLoops(Stmt s, String loop) {
        List<String> path = new ArrayList<>();
        return path(s, loop, path) ? path : List.of();
    }

    private static boolean path(Stmt s, String loop, List<String> path) {
        if (s instanceof Stmt.For f) {
            if (f.var().name().equals(loop)) return true;
            path.add(f.var().name());
            if (path(f.body(), loop, path)) return true;
            path.removeLast();
            return false;
        }
        boolean[] found = {false};
        Children.forEach(s, c -> {
            if (!found[0]) found[0] = path(c, loop, path);
        }, e -> {});
        return found[0];
    }

    /**
     * Whether loop {@code loop} encloses an update of {@code buffer} without choosing which element
     * it updates: its variable appears neither in the store's index nor in the bounds or guards of
     * the loops between it and the store (a tile loop that positions an inner loop is spatial).
     */
    private static boolean isReduceOf(Stmt body, String loop, String buffer) {
        Stmt.For f = find(body, loop);
        List<Stmt> chain = new ArrayList<>();
        Stmt.Store st = updateStore(f, buffer, chain);
        if (st == null || Vars.uses(st.index(), loop)) return false;
        for (Stmt s : chain) {
            if (s instanceof Stmt.For l && (Vars.uses(l.min(), loop) || Vars.uses(l.extent(), loop))) return false;
            if (s instanceof Stmt.IfThenElse c && Vars.uses(c.cond(), loop)) return false;
        }
        return true;
    }

    /** The value the init nest stores: a store into the buffer that reads nothing and uses no variable. */
    private static Expr initValue(Stmt body, String buffer) {
        Expr[] v = {null};
        Vars.anyStmt(body, s -> {
            if (s instanceof Stmt.Store st && st.buffer().name().equals(buffer) && !reads(st.value(), buffer) && v[0] == null) v[0] = st.value();
            return false;
        });
        if (v[0] == null) throw new IllegalArgumentException(buffer + " has no init store");
        if (!Vars.of(v[0]).isEmpty() || v[0] instanceof Expr.Load) throw new IllegalArgumentException("the init of " + buffer + " is not a constant: " + v[0]);
        return v[0];
    }

    /** Removes every statement that only stores the init value into {@code buffer} (the init nest). */
    private static Stmt removeInit(Stmt s, String buffer, String keep) {
        if (isInitNest(s, buffer)) return new Stmt.Seq(List.of());
        return Children.map(s, c -> removeInit(c, buffer, keep), e -> e);
    }

    private static boolean isInitNest(Stmt s, String buffer) {
        if (!(s instanceof Stmt.For)) return false;
        boolean[] ok = {true, false};
        Vars.anyStmt(s, x -> {
            if (x instanceof Stmt.Store st) {
                if (st.buffer().name().equals(buffer) && !reads(st.value(), buffer)) ok[1] = true;
                else ok[0] = false;
            }
            return false;
        });
        return ok[0] && ok[1];
    }

    /** {@code body} with loop {@code loop} preceded by {@code before}. */
    private static Stmt replace(Stmt s, String loop, Stmt before) {
        if (s instanceof Stmt.For f && f.var().name().equals(loop)) return new Stmt.Seq(List.of(before, s));
        return Children.map(s, c -> replace(c, loop, before), e -> e);
    }
}
