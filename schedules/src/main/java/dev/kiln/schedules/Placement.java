package dev.kiln.schedules;

import static dev.kiln.irlow.expr.Exprs.idx;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds.Interval;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Simplify;
import dev.kiln.irlow.transform.Substitute;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * computeInline and computeAt: where the nests that compute an intermediate buffer run. The
 * producer of a buffer is the run of sibling statements that store to it, each a perfect nest
 * around one store whose index walks the whole buffer row-major (a reduction adds loops the
 * index does not use, and reads the buffer only at the element it stores).
 */
final class Placement {
    private Placement() {}

    /** A perfect loop nest around one store. */
    record Nest(Stmt root, List<Stmt.For> loops, Stmt.Store store) {}

    /**
     * The loops of a nest that walk the buffer's dimensions: {@code dimLoops.get(d)} walks
     * dimension d of {@code layout}; {@code fixed} are the loops of extent 1 the index uses.
     */
    record NestLayout(Regions.Layout layout, List<Stmt.For> dimLoops, List<Stmt.For> fixed, List<Stmt.For> reduce) {}

    /** The producer: statements {@code from..from+nests.size()-1} of {@code parent} (null when the nest is not in a sequence). */
    record Producer(Stmt.Seq parent, int from, List<Nest> nests, List<NestLayout> layouts) {
        int to() {
            return from + nests.size();
        }
    }

    static Producer producer(PrimFunc f, Buffer b, String primitive) {
        Producer p = find(f.body(), null, b, primitive);
        if (p == null) throw new IllegalArgumentException(primitive + ": nothing in kernel " + f.name() + " stores to " + b.name());
        return p;
    }

    private static Producer find(Stmt s, Stmt.Seq parent, Buffer b, String primitive) {
        if (s instanceof Stmt.Seq q) {
            List<Integer> hits = new ArrayList<>();
            for (int i = 0; i < q.stmts().size(); i++) if (Accesses.stores(q.stmts().get(i), b.name())) hits.add(i);
            if (hits.isEmpty()) return null;
            if (hits.size() == 1 && nest(q.stmts().get(hits.getFirst())) == null) return find(q.stmts().get(hits.getFirst()), q, b, primitive);
            for (int i = 1; i < hits.size(); i++)
                if (hits.get(i) != hits.get(i - 1) + 1)
                    throw new IllegalArgumentException(primitive + ": the nests that store to " + b.name()
                            + " are not next to each other; other statements run between them");
            List<Nest> nests = new ArrayList<>();
            for (int i : hits) nests.add(checkedNest(q.stmts().get(i), b, primitive));
            return new Producer(q, hits.getFirst(), nests, nests.stream().map(n -> layout(n, b, primitive)).toList());
        }
        if (nest(s) != null && Accesses.stores(s, b.name())) {
            Nest n = checkedNest(s, b, primitive);
            return new Producer(parent, parent == null ? 0 : parent.stmts().indexOf(s), List.of(n), List.of(layout(n, b, primitive)));
        }
        Producer[] found = {null};
        Children.forEach(s, c -> {
            if (found[0] == null && Accesses.stores(c, b.name())) found[0] = find(c, null, b, primitive);
        }, e -> {});
        return found[0];
    }

    static Nest nest(Stmt s) {
        List<Stmt.For> loops = new ArrayList<>();
        Stmt cur = s;
        while (cur instanceof Stmt.For f) {
            loops.add(f);
            cur = f.body();
        }
        return cur instanceof Stmt.Store st ? new Nest(s, loops, st) : null;
    }

    private static Nest checkedNest(Stmt s, Buffer b, String primitive) {
        Nest n = nest(s);
        if (n == null || !n.store().buffer().name().equals(b.name()))
            throw new IllegalArgumentException(primitive + ": " + b.name() + " is stored by a statement that is not a perfect loop nest around "
                    + "one store (a guard from a split that does not divide, or a nest that also writes other buffers); "
                    + "apply " + primitive + " before such steps");
        if (n.store().index().type().isVector())
            throw new IllegalArgumentException(primitive + ": " + b.name() + " is stored with a vector index; apply " + primitive + " before vectorizing");
        return n;
    }

    /** Which loops of {@code n} walk which dimension of {@code b}, or an error saying why the store is not a dense row-major walk. */
    static NestLayout layout(Nest n, Buffer b, String primitive) {
        String why = primitive + ": the store " + b.name() + "[" + dev.kiln.irlow.Printer.print(n.store().index()) + "] ";
        Regions.Linear lin = Regions.linearize(n.store().index());
        Map<String, Stmt.For> byName = new LinkedHashMap<>();
        for (Stmt.For l : n.loops()) byName.put(l.var().name(), l);
        long base = lin.constant();
        List<Stmt.For> dims = new ArrayList<>(), fixed = new ArrayList<>(), reduce = new ArrayList<>();
        Map<String, Long> coef = new HashMap<>();
        for (var t : lin.terms().entrySet()) {
            if (!(t.getKey() instanceof Expr.Var v) || !byName.containsKey(v.name()))
                throw new IllegalArgumentException(why + "is not a sum of its loop variables times constants");
            coef.put(v.name(), t.getValue());
        }
        for (Stmt.For l : n.loops()) {
            Long c = coef.get(l.var().name());
            if (c == null) {
                reduce.add(l);
                continue;
            }
            if (!(l.min() instanceof Expr.IntImm min) || !(l.extent() instanceof Expr.IntImm ext))
                throw new IllegalArgumentException(why + "is inside loop " + l.var().name() + " whose bounds are not constants");
            base += c * min.value();
            if (ext.value() == 1) fixed.add(l);
            else dims.add(l);
        }
        dims.sort(Comparator.comparingLong((Stmt.For l) -> coef.get(l.var().name())).reversed());
        List<Long> strides = new ArrayList<>(), extents = new ArrayList<>();
        long expected = 1;
        for (int d = dims.size() - 1; d >= 0; d--) {
            long c = coef.get(dims.get(d).var().name());
            if (c != expected)
                throw new IllegalArgumentException(why + "does not write every element of " + b.name()
                        + " exactly once in row-major order (loop " + dims.get(d).var().name() + " has stride " + c + ", expected " + expected + ")");
            expected *= ((Expr.IntImm) dims.get(d).extent()).value();
            strides.addFirst(c);
            extents.addFirst(((Expr.IntImm) dims.get(d).extent()).value());
        }
        if (base != 0 || expected != b.size())
            throw new IllegalArgumentException(why + "covers elements " + base + ".." + (base + expected - 1) + " of " + b.name()
                    + ", not all " + b.size() + " of them");
        for (Expr.Load l : loadsOf(n.store().value(), b.name()))
            if (!l.index().equals(n.store().index()))
                throw new IllegalArgumentException(why + "reads " + b.name() + "[" + dev.kiln.irlow.Printer.print(l.index())
                        + "], another element of the buffer it writes, so its region cannot be computed on its own");
        return new NestLayout(new Regions.Layout(strides, extents), dims, fixed, reduce);
    }

    static List<Expr.Load> loadsOf(Expr e, String buffer) {
        List<Expr.Load> out = new ArrayList<>();
        Accesses.mapLoads(e, l -> {
            if (l.buffer().name().equals(buffer)) out.add(l);
            return l;
        });
        return out;
    }

    // ---- computeInline ----

    static PrimFunc computeInline(PrimFunc func, String buffer) {
        String what = "computeInline " + buffer;
        PrimFunc f = func.withBody(flattenSeqs(func.body()));
        Buffer b = intermediate(f, buffer, what);
        Producer p = producer(f, b, what);
        if (p.nests().size() != 1)
            throw new IllegalArgumentException(what + ": " + buffer + " is written by " + p.nests().size()
                    + " loop nests (a reduction has an init and an update nest); only a buffer computed by one pure store nest can be inlined");
        Nest n = p.nests().getFirst();
        NestLayout nl = p.layouts().getFirst();
        if (!loadsOf(n.store().value(), buffer).isEmpty())
            throw new IllegalArgumentException(what + ": " + buffer + " is a reduction (its store reads " + buffer
                    + " itself); only a pure store nest, each element written once from other buffers, can be inlined");
        if (!nl.reduce().isEmpty())
            throw new IllegalArgumentException(what + ": loop " + nl.reduce().getFirst().var().name() + " around the store to " + buffer
                    + " is not used by its index, so each element is written more than once; only a pure injective store nest can be inlined");
        Set<String> reads = new HashSet<>();
        Accesses.readsOf(n.store().value(), reads);
        checkNotWrittenAfter(f.body(), n.root(), reads, what);

        Stmt body = withoutStmts(f.body(), Set.of(n.root()));
        if (Accesses.stores(body, buffer))
            throw new IllegalArgumentException(what + ": " + buffer + " is also written outside the nest that computes it");
        Accesses acc = Accesses.below(body, null, buffer);
        Map<Expr, Expr> replacement = new HashMap<>();
        Set<Expr> wraps = new HashSet<>(); // indices not proved to stay in each dimension somewhere
        for (Accesses.Access a : acc.list) {
            if (a.index().type().isVector())
                throw new IllegalArgumentException(what + ": " + buffer + " is read with a vector index; apply computeInline before vectorizing");
            List<Expr> k = wraps.contains(a.index()) ? null : Regions.decompose(nl.layout(), a.index(), a.ranges());
            if (k == null) wraps.add(a.index());
            replacement.put(a.index(), valueAt(n, nl, k == null ? divMod(nl.layout(), a.index()) : k));
        }
        body = Accesses.mapAll(body, s -> s instanceof Stmt.Allocate al && al.buffer().name().equals(buffer) ? al.body() : s, e -> e);
        body = rewriteLoads(body, buffer, l -> replacement.get(l.index()));
        return f.withBody(body);
    }

    private static Expr valueAt(Nest n, NestLayout nl, List<Expr> k) {
        Map<String, Expr> sub = new HashMap<>();
        for (int d = 0; d < k.size(); d++) sub.put(nl.dimLoops().get(d).var().name(), Exprs.add(nl.dimLoops().get(d).min(), k.get(d)));
        for (Stmt.For l : nl.fixed()) sub.put(l.var().name(), l.min());
        return Substitute.expr(n.store().value(), sub);
    }

    /** Element indices of a flat index by floor division and modulo: always right for an index inside the buffer. */
    private static List<Expr> divMod(Regions.Layout layout, Expr index) {
        List<Expr> k = new ArrayList<>();
        for (int d = 0; d < layout.rank(); d++) {
            Expr q = Exprs.div(index, idx(layout.strides().get(d)));
            k.add(d == 0 ? q : Exprs.mod(q, idx(layout.extents().get(d))));
        }
        return k;
    }

    // ---- computeAt ----

    static PrimFunc computeAt(PrimFunc func, String buffer, String loop) {
        String what = "computeAt " + buffer + " " + loop;
        PrimFunc f = func.withBody(flattenSeqs(func.body()));
        Buffer b = intermediate(f, buffer, what);
        Producer p = producer(f, b, what);
        Regions.Layout layout = p.layouts().getFirst().layout();
        for (NestLayout nl : p.layouts())
            if (!nl.layout().equals(layout))
                throw new IllegalArgumentException(what + ": the nests that store to " + buffer + " walk it in different shapes ("
                        + layout + " and " + nl.layout() + ")");
        Set<Stmt> group = new HashSet<>();
        for (Nest n : p.nests()) group.add(n.root());
        for (Nest n : p.nests())
            for (Stmt.For l : n.loops())
                if (l.var().name().equals(loop)) throw new IllegalArgumentException(what + ": loop " + loop + " belongs to the nest that computes " + buffer);
        int at = -1;
        if (p.parent() != null)
            for (int i = p.to(); i < p.parent().stmts().size(); i++)
                if (hasLoop(p.parent().stmts().get(i), loop)) at = i;
        if (at < 0)
            throw new IllegalArgumentException(what + ": loop " + loop + " does not run after the nest that computes " + buffer
                    + " in the same sequence of statements; computeAt moves a producer into a later consumer's loop");
        Stmt.For target = findLoop(f.body(), loop);
        Stmt rest = withoutStmts(f.body(), group);
        if (Accesses.stores(rest, buffer))
            throw new IllegalArgumentException(what + ": " + buffer + " is also written outside the nests that compute it");
        if (Accesses.loads(rest, buffer) != Accesses.loads(target.body(), buffer) || Accesses.loads(rest, buffer) == 0)
            throw new IllegalArgumentException(what + ": " + buffer + " is also read outside loop " + loop
                    + " (or not read below it); each read must be inside the loop so it sees the region computed there");
        Set<String> reads = new HashSet<>(), writes = new HashSet<>();
        for (Nest n : p.nests()) Accesses.readsOf(n.store().value(), reads);
        reads.remove(buffer);
        for (int i = p.to(); i <= at; i++) {
            Set<String> w = new HashSet<>();
            Accesses.buffersOf(p.parent().stmts().get(i), new HashSet<>(), w);
            for (String x : w)
                if (reads.contains(x))
                    throw new IllegalArgumentException(what + ": the nest that computes " + buffer + " reads " + x
                            + ", which is written before loop " + loop + " ends; moving it there would read other values");
        }

        Accesses acc = Accesses.below(f.body(), loop, buffer);
        List<List<Regions.Range>> bounds = new ArrayList<>();
        for (Accesses.Access a : acc.list) bounds.add(ranges(layout, a));
        List<Regions.Dim> box = Regions.box(layout, bounds, acc.outer);

        List<Stmt> moved = new ArrayList<>();
        for (int i = 0; i < p.nests().size(); i++) moved.add(restrict(p.nests().get(i), p.layouts().get(i), box, acc.outer));
        Stmt body = Accesses.mapAll(rest, s -> {
            if (!(s instanceof Stmt.For l) || !l.var().name().equals(loop)) return s;
            List<Stmt> stmts = new ArrayList<>(moved);
            if (l.body() instanceof Stmt.Seq q) stmts.addAll(q.stmts());
            else stmts.add(l.body());
            return new Stmt.For(l.var(), l.min(), l.extent(), l.kind(), new Stmt.Seq(stmts));
        }, e -> e);
        return f.withBody(body);
    }

    /** Per-dimension bounds of one access (a null range: the whole dimension). */
    static List<Regions.Range> ranges(Regions.Layout layout, Accesses.Access a) {
        List<Expr> k = Regions.decompose(layout, a.index(), a.ranges());
        List<Regions.Range> r = new ArrayList<>();
        for (int d = 0; d < layout.rank(); d++) r.add(k == null ? null : Regions.bound(k.get(d), a.inner()));
        return r;
    }

    /** The nest with each dimension loop running over the box only. */
    private static Stmt restrict(Nest n, NestLayout nl, List<Regions.Dim> box, Map<String, Interval> outer) {
        Map<String, Regions.Dim> byLoop = new HashMap<>();
        for (int d = 0; d < box.size(); d++) byLoop.put(nl.dimLoops().get(d).var().name(), box.get(d));
        Stmt s = n.store();
        for (int i = n.loops().size() - 1; i >= 0; i--) {
            Stmt.For l = n.loops().get(i);
            Regions.Dim d = byLoop.get(l.var().name());
            Expr min = l.min(), ext = l.extent();
            if (d != null) {
                min = Simplify.expr(Exprs.add(l.min(), d.lo()), outer);
                ext = Simplify.expr(Exprs.add(Exprs.sub(d.hi(), d.lo()), idx(1)), outer);
            }
            s = new Stmt.For(l.var(), min, ext, l.kind(), s);
        }
        return s;
    }

    // ---- shared ----

    /** The allocated buffer named {@code name}, or an error naming what it is instead. */
    static Buffer intermediate(PrimFunc f, String name, String what) {
        if (Accesses.isParam(f, name))
            throw new IllegalArgumentException(what + ": " + name + " is a parameter of kernel " + f.name()
                    + "; only an intermediate buffer (allocated inside the kernel) can be moved or inlined");
        Buffer b = Accesses.find(f, name);
        if (b == null) throw new IllegalArgumentException(what + ": kernel " + f.name() + " has no buffer named " + name);
        return b;
    }

    static boolean hasLoop(Stmt s, String loop) {
        return dev.kiln.irlow.transform.Vars.loops(s).stream().anyMatch(l -> l.var().name().equals(loop));
    }

    private static Stmt.For findLoop(Stmt s, String loop) {
        return dev.kiln.irlow.transform.Vars.loops(s).stream().filter(l -> l.var().name().equals(loop)).findFirst().orElseThrow();
    }

    /** Sequences inside sequences spliced into them (lowering nests a reduction's init and update in its own sequence). */
    static Stmt flattenSeqs(Stmt s) {
        return Accesses.mapAll(s, x -> {
            if (!(x instanceof Stmt.Seq q) || q.stmts().stream().noneMatch(c -> c instanceof Stmt.Seq)) return x;
            List<Stmt> out = new ArrayList<>();
            for (Stmt c : q.stmts()) {
                if (c instanceof Stmt.Seq inner) out.addAll(inner.stmts());
                else out.add(c);
            }
            return new Stmt.Seq(out);
        }, e -> e);
    }

    /** {@code s} without the statements in {@code drop} (by identity) from any sequence. */
    static Stmt withoutStmts(Stmt s, Set<Stmt> drop) {
        if (drop.contains(s)) return new Stmt.Seq(List.of());
        if (s instanceof Stmt.Seq q) {
            List<Stmt> kept = new ArrayList<>();
            for (Stmt x : q.stmts()) if (!drop.contains(x)) kept.add(withoutStmts(x, drop));
            return kept.size() == 1 ? kept.getFirst() : new Stmt.Seq(kept);
        }
        return Children.map(s, c -> withoutStmts(c, drop), e -> e);
    }

    /** Loads of {@code buffer} replaced by {@code f} of the original load; the result is rewritten again (nested loads). */
    static Stmt rewriteLoads(Stmt s, String buffer, java.util.function.Function<Expr.Load, Expr> f) {
        return Accesses.mapAll(s, x -> x, e -> rewriteLoads(e, buffer, f));
    }

    static Expr rewriteLoads(Expr e, String buffer, java.util.function.Function<Expr.Load, Expr> f) {
        if (e instanceof Expr.Load l && l.buffer().name().equals(buffer)) {
            Expr r = f.apply(l);
            return r == l ? l : rewriteLoads(r, buffer, f);
        }
        return Children.map(e, c -> rewriteLoads(c, buffer, f));
    }

    /** Refuses when a statement after {@code from} (in program order) stores to one of {@code buffers}. */
    private static void checkNotWrittenAfter(Stmt root, Stmt from, Set<String> buffers, String what) {
        boolean[] after = {false};
        Accesses.forEachStmt(root, s -> {
            if (s == from) after[0] = true;
            else if (after[0] && s instanceof Stmt.Store st && buffers.contains(st.buffer().name()) && !isInside(from, s))
                throw new IllegalArgumentException(what + ": the nest reads " + st.buffer().name()
                        + ", which is written again after it; the readers would see other values");
        });
    }

    private static boolean isInside(Stmt outer, Stmt s) {
        boolean[] found = {false};
        Accesses.forEachStmt(outer, x -> found[0] |= x == s);
        return found[0];
    }
}
