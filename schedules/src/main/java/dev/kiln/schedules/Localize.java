package dev.kiln.schedules;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds.Interval;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Simplify;
import dev.kiln.irlow.transform.Substitute;
import dev.kiln.irlow.transform.Vars;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Storage folding: an intermediate buffer that is only touched inside one loop (a conv's
 * accumulator computed at its epilogue's tile loop) is allocated inside that loop with only the
 * elements one iteration touches, indexed relative to the first of them. A register tile of
 * 14x16 floats then lives on the stack at constant offsets, which LLVM keeps in registers, instead
 * of a buffer the size of the whole output that every tile writes and reads back through memory.
 *
 * <p>Each access index must be affine in the loops inside: {@code base + Σ c·(v - min_v) + k}
 * with the same base (the part that depends only on variables outside) for every access, every
 * inner loop of constant extent and every coefficient positive. Where the elements touched are a
 * box of the buffer's dimensions that is smaller than that strided span (a few rows of a wide
 * matrix), the buffer becomes {@code buffer.local}, that box densely ({@link Caches#localizeDense}).
 */
final class Localize {
    private Localize() {}

    /** An inner loop in scope: its variable, its min and its extent. */
    private record Loop(Expr.Var var, Expr min, long extent) {}

    /** One access: the coefficients of its outer atoms, its constant, its inner coefficients and how far it reaches. */
    private record Access(Map<Expr, Long> outer, long constant, long span) {}

    static PrimFunc apply(PrimFunc f, String buffer, String loop) {
        String what = "cannot localize " + buffer + " at loop " + loop + " of kernel " + f.name() + ": ";
        Buffer decl = Placement.intermediate(f, buffer, "localize");
        Stmt.For target = null;
        for (Stmt.For l : Vars.loops(f.body())) if (l.var().name().equals(loop)) target = l;
        if (target == null) throw new IllegalArgumentException(what + "no such loop");
        if (count(f.body(), buffer) != count(target.body(), buffer))
            throw new IllegalArgumentException(what + "it is also accessed outside that loop");

        List<Access> accesses = new ArrayList<>();
        walk(target.body(), buffer, new LinkedHashMap<>(), accesses, what);
        if (accesses.isEmpty()) throw new IllegalArgumentException(what + "nothing inside the loop accesses it");
        Map<Expr, Long> base = accesses.getFirst().outer();
        long low = Long.MAX_VALUE;
        for (Access a : accesses) {
            if (!a.outer().equals(base)) throw new IllegalArgumentException(what + "its accesses do not share one base (" + a.outer() + " vs " + base + ")");
            low = Math.min(low, a.constant());
        }
        long size = 0;
        for (Access a : accesses) size = Math.max(size, a.constant() - low + a.span());
        PrimFunc dense = Caches.localizeDense(f, buffer, loop, decl.scope(), size);
        if (dense != null) return dense;
        Buffer local = new Buffer(buffer, decl.dtype(), size, decl.scope());
        Stmt body = rewrite(target.body(), buffer, local, low, new LinkedHashMap<>());
        Stmt.For t = target;
        Stmt.For folded = new Stmt.For(t.var(), t.min(), t.extent(), t.kind(), new Stmt.Allocate(local, body));
        return f.withBody(replaceLoop(removeAllocate(f.body(), buffer), loop, folded));
    }

    /** Stores and loads of {@code buffer} in {@code s}. */
    private static int count(Stmt s, String buffer) {
        int[] stores = {0};
        Accesses.forEachStmt(s, x -> stores[0] += x instanceof Stmt.Store st && st.buffer().name().equals(buffer) ? 1 : 0);
        return stores[0] + Accesses.loads(s, buffer);
    }

    private static void walk(Stmt s, String buffer, Map<String, Loop> inner, List<Access> out, String what) {
        if (s instanceof Stmt.For l) {
            if (!(l.extent() instanceof Expr.IntImm(Type t, long n)))
                throw new IllegalArgumentException(what + "loop " + l.var().name() + " inside has a non-constant extent");
            inner.put(l.var().name(), new Loop(l.var(), l.min(), n));
            walk(l.body(), buffer, inner, out, what);
            inner.remove(l.var().name());
            return;
        }
        if (s instanceof Stmt.Store st && st.buffer().name().equals(buffer)) out.add(access(st.index(), inner, what));
        Children.forEach(s, c -> walk(c, buffer, inner, out, what), e -> visitLoads(e, buffer, inner, out, what));
    }

    private static void visitLoads(Expr e, String buffer, Map<String, Loop> inner, List<Access> out, String what) {
        if (e instanceof Expr.Load l && l.buffer().name().equals(buffer)) out.add(access(l.index(), inner, what));
        Children.forEach(e, c -> visitLoads(c, buffer, inner, out, what));
    }

    /** The index with each inner variable v written as {@code min_v + u_v}, split into outer part, inner part and constant. */
    private static Access access(Expr index, Map<String, Loop> inner, String what) {
        Map<String, Expr> sub = new HashMap<>();
        Map<String, Long> extentOfU = new HashMap<>();
        for (Loop l : inner.values()) {
            Expr.Var u = new Expr.Var(l.var().name() + ".u", l.var().type());
            sub.put(l.var().name(), Exprs.add(l.min(), u));
            extentOfU.put(u.name(), l.extent());
        }
        Expr e = resolve(index, inner, sub);
        if (Vars.usesAny(e, inner.keySet())) throw new IllegalArgumentException(what + "cannot resolve the inner loops of index " + index);
        Regions.Linear lin = Regions.linearize(e);
        Map<Expr, Long> outer = new LinkedHashMap<>();
        long span = 1;
        for (Map.Entry<Expr, Long> t : lin.terms().entrySet()) {
            Expr atom = t.getKey();
            if (atom instanceof Expr.Var v && extentOfU.containsKey(v.name())) {
                if (t.getValue() < 0) throw new IllegalArgumentException(what + "index " + index + " runs backwards in loop " + v.name());
                span += t.getValue() * (extentOfU.get(v.name()) - 1);
            } else if (Vars.usesAny(atom, extentOfU.keySet())) {
                throw new IllegalArgumentException(what + "index " + index + " is not affine in the loops inside");
            } else {
                outer.put(atom, t.getValue());
            }
        }
        return new Access(outer, lin.constant(), span);
    }

    /** Rewrites every access to {@code buffer} below as {@code Σ c·(v - min_v) + (k - low)} into {@code local}. */
    private static Stmt rewrite(Stmt s, String buffer, Buffer local, long low, Map<String, Loop> inner) {
        if (s instanceof Stmt.For l) {
            long n = ((Expr.IntImm) l.extent()).value();
            inner.put(l.var().name(), new Loop(l.var(), l.min(), n));
            Stmt body = rewrite(l.body(), buffer, local, low, inner);
            inner.remove(l.var().name());
            return new Stmt.For(l.var(), l.min(), l.extent(), l.kind(), body);
        }
        if (s instanceof Stmt.Store st && st.buffer().name().equals(buffer))
            return new Stmt.Store(local, relative(st.index(), inner, low), loadsIn(st.value(), buffer, local, low, inner));
        return Children.map(s, c -> rewrite(c, buffer, local, low, inner), e -> loadsIn(e, buffer, local, low, inner));
    }

    /** Each load rewritten once (not Placement.rewriteLoads, which rewrites a result of the same name again). */
    private static Expr loadsIn(Expr e, String buffer, Buffer local, long low, Map<String, Loop> inner) {
        return Accesses.mapLoads(e, l -> l.buffer().name().equals(buffer) ? new Expr.Load(local, relative(l.index(), inner, low)) : l);
    }

    /** {@code index} relative to the first element one iteration touches, in terms of the original loop variables. */
    private static Expr relative(Expr index, Map<String, Loop> inner, long low) {
        Map<String, Expr> sub = new HashMap<>();
        Map<String, Expr> back = new HashMap<>();
        for (Loop l : inner.values()) {
            Expr.Var u = new Expr.Var(l.var().name() + ".u", l.var().type());
            sub.put(l.var().name(), Exprs.add(l.min(), u));
            back.put(u.name(), Exprs.sub(l.var(), l.min()));
        }
        Expr e = resolve(index, inner, sub);
        Regions.Linear lin = Regions.linearize(e);
        Expr result = null;
        for (Map.Entry<Expr, Long> term : lin.terms().entrySet()) {
            if (!(term.getKey() instanceof Expr.Var u) || !back.containsKey(u.name())) continue;
            Expr part = Exprs.mul(back.get(u.name()), Exprs.idx(term.getValue()));
            result = result == null ? part : Exprs.add(result, part);
        }
        Expr offset = Exprs.idx(lin.constant() - low);
        return result == null ? offset : Exprs.add(result, offset);
    }

    /**
     * {@code index} in terms of the offsets {@code u} of the inner loops ({@code v = min_v + u_v};
     * a min may use variables of loops further out inside, so substitute until none is left),
     * simplified knowing {@code 0 <= u_v < extent_v}: {@code (16*c + u) / 16} is then {@code c},
     * so a tile of a channel block indexes the block's accumulator affinely.
     */
    private static Expr resolve(Expr index, Map<String, Loop> inner, Map<String, Expr> sub) {
        Expr e = index;
        for (int round = 0; round <= inner.size() && Vars.usesAny(e, inner.keySet()); round++) e = Substitute.expr(e, sub);
        Map<String, Interval> ranges = new HashMap<>();
        for (Loop l : inner.values()) ranges.put(l.var().name() + ".u", new Interval(0, l.extent() - 1));
        return Simplify.expr(e, ranges);
    }

    static Stmt removeAllocate(Stmt s, String buffer) {
        if (s instanceof Stmt.Allocate a && a.buffer().name().equals(buffer)) return removeAllocate(a.body(), buffer);
        return Children.map(s, c -> removeAllocate(c, buffer), e -> e);
    }

    private static Stmt replaceLoop(Stmt s, String loop, Stmt with) {
        if (s instanceof Stmt.For l && l.var().name().equals(loop)) return with;
        return Children.map(s, c -> replaceLoop(c, loop, with), e -> e);
    }
}
