package dev.kiln.schedules;

import static dev.kiln.irlow.expr.Exprs.idx;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds;
import dev.kiln.irlow.transform.Simplify;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * cacheRead and cacheWrite: a local buffer {@code <buffer>.local} holding the box of a buffer
 * that the body of a loop touches, allocated inside the loop. cacheRead copies the box in at
 * the top of each iteration and redirects the loads below; cacheWrite copies it in, redirects
 * loads and stores below, and copies it back at the end. Copying in before a cached write
 * keeps the elements of the box the body does not write, so the copy back is always right.
 * The local buffer's memory scope is the caller's: GLOBAL on a CPU, REGISTER or SHARED on a GPU.
 */
final class Caches {
    private Caches() {}

    static PrimFunc cacheRead(PrimFunc f, String buffer, String loop, MemoryScope scope) {
        String what = "cacheRead " + buffer + " " + loop;
        Cache c = new Cache(f, buffer, loop, what, scope);
        if (c.acc.anyStore())
            throw new IllegalArgumentException(what + ": " + buffer + " is written below loop " + loop
                    + "; a read cache is filled once per iteration and would go stale (use cacheWrite)");
        if (c.acc.list.isEmpty()) throw new IllegalArgumentException(what + ": nothing below loop " + loop + " reads " + buffer);
        if (scope == MemoryScope.SHARED) {
            List<Stmt.For> threads = threadLoopsAround(f.body(), loop);
            if (!threads.isEmpty()) return c.buildShared(threads);
        }
        return c.build(true, false, "");
    }

    /** The GPU thread loops enclosing {@code loop}, outermost first (empty outside a thread nest). */
    private static List<Stmt.For> threadLoopsAround(Stmt root, String loop) {
        List<Stmt.For> path = new ArrayList<>();
        if (!pathTo(root, loop, path)) return List.of();
        return path.stream().filter(l -> l.kind().isGpuThread()).toList();
    }

    private static boolean pathTo(Stmt s, String loop, List<Stmt.For> path) {
        if (s instanceof Stmt.For f) {
            if (f.var().name().equals(loop)) return true;
            path.add(f);
            if (pathTo(f.body(), loop, path)) return true;
            path.removeLast();
            return false;
        }
        boolean[] found = {false};
        dev.kiln.irlow.transform.Children.forEach(s, x -> {
            if (!found[0]) found[0] = pathTo(x, loop, path);
        }, e -> {});
        return found[0];
    }

    static PrimFunc cacheWrite(PrimFunc f, String buffer, String loop, MemoryScope scope) {
        String what = "cacheWrite " + buffer + " " + loop;
        Cache c = new Cache(f, buffer, loop, what, scope);
        if (!c.acc.anyStore()) throw new IllegalArgumentException(what + ": nothing below loop " + loop + " writes " + buffer);
        return c.build(true, true, ".in");
    }

    /**
     * localize's dense form ({@link Localize}): the box of {@code buffer} that the body of
     * {@code loop} touches, per dimension of the buffer's layout, allocated inside the loop as
     * {@code buffer.local} with no copies (every access is inside the loop, the caller checked),
     * and the buffer's own allocation removed. Null when the accesses do not decompose into
     * dimensions or the box is no smaller than {@code stridedSize}, the elements the strided
     * form would take (a tile of rows of a wide matrix: 8 rows x 32 columns of a 768-wide one
     * take 256 elements here, 5408 strided).
     */
    static PrimFunc localizeDense(PrimFunc f, String buffer, String loop, MemoryScope scope, long stridedSize) {
        Cache c;
        try {
            c = new Cache(f, buffer, loop, "localize " + buffer + " " + loop, scope, true);
        } catch (IllegalArgumentException e) {
            return null;
        }

        if (c.local.size() >= stridedSize || c.localIndex.containsValue(null)) return null;
        PrimFunc g = c.build(false, false, "");
        return g.withBody(Localize.removeAllocate(g.body(), buffer));
    }

    /** The analysis shared by both caches: the accesses, their layout and box, and the local buffer. */
    private static final class Cache {
        final PrimFunc f;
        final Buffer buffer, local;
        final String loop, what;
        final Accesses acc;
        final Regions.Layout layout;
        final List<Regions.Dim> box;
        final List<Long> localStrides = new ArrayList<>();
        final Map<Expr, Expr> localIndex = new HashMap<>();

        Cache(PrimFunc f, String name, String loop, String what, MemoryScope scope) {
            this(f, name, loop, what, scope, false);
        }

        /** {@code refine}: try coarser layouts before a flat one (localize's dense form; caches keep the first fallback). */
        Cache(PrimFunc f, String name, String loop, String what, MemoryScope scope, boolean refine) {
            this.f = f;
            this.loop = loop;
            this.what = what;
            this.buffer = Accesses.find(f, name);
            if (buffer == null) throw new IllegalArgumentException(what + ": kernel " + f.name() + " has no buffer named " + name);
            String localName = name + ".local";
            if (Accesses.find(f, localName) != null)
                throw new IllegalArgumentException(what + ": kernel " + f.name() + " already has a buffer named " + localName + " (one cache per buffer)");
            acc = Accesses.below(f.body(), loop, name);
            for (Accesses.Access a : acc.list)
                if (a.index().type().isVector())
                    throw new IllegalArgumentException(what + ": " + name + " is accessed with a vector index; cache before vectorizing");
            layout = layout(buffer.size(), acc, refine);
            List<List<Regions.Range>> bounds = new ArrayList<>();
            for (Accesses.Access a : acc.list) bounds.add(Placement.ranges(layout, a));
            box = acc.list.isEmpty() ? List.of() : Regions.box(layout, bounds, acc.outer);
            long size = 1;
            for (int d = box.size() - 1; d >= 0; d--) {
                localStrides.addFirst(size);
                size = Math.multiplyExact(size, box.get(d).width());
            }
            local = new Buffer(localName, buffer.dtype(), size, scope);
            for (Accesses.Access a : acc.list) {
                List<Expr> k = Regions.decompose(layout, a.index(), a.ranges());
                Expr r = null;
                for (int d = 0; d < box.size(); d++) {
                    Expr t = Exprs.mul(Exprs.sub(k.get(d), box.get(d).lo()), idx(localStrides.get(d)));
                    r = r == null ? t : Exprs.add(r, t);
                }
                localIndex.put(a.index(), Simplify.expr(r));
            }
        }

        /**
         * The dimensions the accesses split into: those their coefficients suggest, else the same
         * with one or two dimensions merged into the next outer one (a tile split of rows that
         * the producer's own loops cross), else flat.
         */
        private static Regions.Layout layout(long size, Accesses acc, boolean refine) {
            Regions.Layout inferred = Regions.Layout.inferred(size, acc.indices());
            if (decomposesAll(inferred, acc)) return inferred;
            if (!refine) return Regions.Layout.flat(size);
            List<Long> strides = inferred.strides();
            int n = strides.size();
            for (int drop = 1; drop <= 2; drop++)
                for (int i = 0; i < n - 1; i++)
                    for (int j = drop == 1 ? i : i + 1; j < n - 1; j++) {
                        List<Long> kept = new ArrayList<>();
                        for (int d = 0; d < n; d++) if (d != i && d != j) kept.add(strides.get(d));
                        List<Long> extents = new ArrayList<>(List.of(size / kept.getFirst()));
                        for (int d = 1; d < kept.size(); d++) extents.add(kept.get(d - 1) / kept.get(d));
                        Regions.Layout l = new Regions.Layout(kept, extents);
                        if (decomposesAll(l, acc)) return l;
                    }
            return Regions.Layout.flat(size);
        }

        private static boolean decomposesAll(Regions.Layout l, Accesses acc) {
            for (Accesses.Access a : acc.list) if (Regions.decompose(l, a.index(), a.ranges()) == null) return false;
            return true;
        }

        /** The function with the loop body reading (and, for a write cache, writing) the local buffer. */
        PrimFunc build(boolean copyIn, boolean copyOut, String inTag) {
            String base = local.name();
            for (String n : List.of(base + inTag + ".d0", base + ".out.d0"))
                if (Placement.hasLoop(f.body(), n)) throw new IllegalArgumentException(what + ": kernel " + f.name() + " already has a loop named " + n);
            Stmt body = Accesses.mapAll(f.body(), s -> {
                if (!(s instanceof Stmt.For l) || !l.var().name().equals(loop)) return s;
                Stmt inner = Accesses.mapAll(l.body(), x -> x instanceof Stmt.Store st && st.buffer().name().equals(buffer.name())
                        ? new Stmt.Store(local, localIndex.get(st.index()), st.value()) : x, e -> e);
                inner = Placement.rewriteLoads(inner, buffer.name(), ld -> new Expr.Load(local, localIndex.get(ld.index())));
                List<Stmt> stmts = new ArrayList<>();
                if (copyIn) stmts.add(copy(base + inTag, true));
                stmts.add(inner);
                if (copyOut) stmts.add(copy(base + ".out", false));
                return new Stmt.For(l.var(), l.min(), l.extent(), l.kind(), new Stmt.Allocate(local, new Stmt.Seq(stmts)));
            }, e -> e);
            return f.withBody(body);
        }

        /**
         * A read cache in SHARED memory inside a nest of GPU thread loops: one copy for the whole
         * block. The box widens from one thread's to every thread's (each thread variable, with a
         * non-negative coefficient in the box's start, ranges over its loop); the buffer is
         * allocated around the outermost thread loop; at the top of each iteration of the loop the
         * threads share out the copy, element e by thread e mod T (T threads), and wait at a
         * barrier; a second barrier at the end keeps the next iteration's copy from overwriting
         * what a slower thread still reads.
         */
        PrimFunc buildShared(List<Stmt.For> threads) {
            long nThreads = 1;
            Expr tid = null;
            for (Stmt.For t : threads) {
                if (!(t.extent() instanceof Expr.IntImm(var ty, long n)) || !(t.min() instanceof Expr.IntImm(var my, long m)) || m != 0)
                    throw new IllegalArgumentException(what + ": thread loop " + t.var().name() + " needs min 0 and a constant extent");
                nThreads = Math.multiplyExact(nThreads, n);
                tid = tid == null ? t.var() : Exprs.add(Exprs.mul(tid, idx(n)), t.var());
            }
            // The block's box: each dimension's start without its thread terms, widened by them.
            List<Expr> lo = new ArrayList<>();
            List<Long> widths = new ArrayList<>();
            for (Regions.Dim dim : box) {
                Regions.Linear lin = Regions.linearize(dim.lo());
                long width = dim.width();
                Expr start = idx(lin.constant());
                for (var term : lin.terms().entrySet()) {
                    Stmt.For thread = null;
                    for (Stmt.For t : threads) if (term.getKey() instanceof Expr.Var v && v.name().equals(t.var().name())) thread = t;
                    if (thread != null) {
                        if (term.getValue() < 0) throw new IllegalArgumentException(what + ": the block's box runs backwards in thread " + thread.var().name());
                        width = Math.addExact(width, term.getValue() * (((Expr.IntImm) thread.extent()).value() - 1));
                    } else {
                        for (Stmt.For t : threads)
                            if (dev.kiln.irlow.transform.Vars.of(term.getKey()).contains(t.var().name()))
                                throw new IllegalArgumentException(what + ": the box's start " + dim.lo() + " is not affine in thread " + t.var().name());
                        start = Exprs.add(start, Exprs.mul(term.getKey(), idx(term.getValue())));
                    }
                }
                lo.add(Simplify.expr(start));
                widths.add(Math.min(width, dim.extent()));
            }
            List<Long> strides = new ArrayList<>();
            long size = 1;
            for (int d = widths.size() - 1; d >= 0; d--) {
                strides.addFirst(size);
                size = Math.multiplyExact(size, widths.get(d));
            }
            Buffer shared = new Buffer(local.name(), buffer.dtype(), size, MemoryScope.SHARED);
            Map<Expr, Expr> index = new HashMap<>();
            for (Accesses.Access a : acc.list) {
                List<Expr> k = Regions.decompose(layout, a.index(), a.ranges());
                Expr r = null;
                for (int d = 0; d < lo.size(); d++) {
                    Expr t = Exprs.mul(Exprs.sub(k.get(d), lo.get(d)), idx(strides.get(d)));
                    r = r == null ? t : Exprs.add(r, t);
                }
                index.put(a.index(), Simplify.expr(r));
            }
            // The copy: element e = o*T + tid of the box, guarded at its end and the buffer's.
            String coop = local.name() + ".coop";
            if (Placement.hasLoop(f.body(), coop)) throw new IllegalArgumentException(what + ": kernel " + f.name() + " already has a loop named " + coop);
            Expr.Var o = Exprs.var(coop);
            Expr e = Exprs.add(Exprs.mul(o, idx(nThreads)), tid);
            List<Expr> k = new ArrayList<>();
            // Guards only where needed: the last round when the threads do not divide the box, a
            // dimension whose box can pass the buffer's end.
            Expr guard = size % nThreads == 0 ? null : Exprs.lt(e, idx(size));
            for (int d = 0; d < lo.size(); d++) {
                Expr within = d == 0 ? Exprs.div(e, idx(strides.get(d))) : Exprs.mod(Exprs.div(e, idx(strides.get(d))), idx(widths.get(d)));
                Expr kd = Exprs.add(lo.get(d), within);
                k.add(kd);
                Expr last = Simplify.expr(Exprs.add(lo.get(d), idx(widths.get(d) - 1)), acc.outer);
                if (Bounds.of(last, acc.outer).hi() > box.get(d).extent() - 1) {
                    Expr ok = Exprs.lt(kd, idx(box.get(d).extent()));
                    guard = guard == null ? ok : Exprs.and(guard, ok);
                }
            }
            Stmt load = new Stmt.Store(shared, e, new Expr.Load(buffer, Regions.flatten(layout, k)));
            Stmt copy = new Stmt.For(o, idx(0), idx(Math.ceilDiv(size, nThreads)), ForKind.SERIAL,
                    guard == null ? load : new Stmt.IfThenElse(guard, load, null));
            String outermost = threads.getFirst().var().name();
            Stmt body = Accesses.mapAll(f.body(), st -> {
                if (st instanceof Stmt.For l && l.var().name().equals(loop)) {
                    Stmt inner = Placement.rewriteLoads(l.body(), buffer.name(), ld -> new Expr.Load(shared, index.get(ld.index())));
                    return new Stmt.For(l.var(), l.min(), l.extent(), l.kind(), new Stmt.Seq(List.of(copy, new Stmt.Barrier(MemoryScope.SHARED),
                            inner, new Stmt.Barrier(MemoryScope.SHARED))));
                }
                return st;
            }, x -> x);
            body = Accesses.mapAll(body, st -> st instanceof Stmt.For l && l.var().name().equals(outermost) ? new Stmt.Allocate(shared, l) : st, x -> x);
            return f.withBody(body);
        }

        /** The nest copying the box between the buffer and the local buffer (in: into the local one). */
        private Stmt copy(String prefix, boolean in) {
            List<Expr.Var> t = new ArrayList<>();
            List<Expr> k = new ArrayList<>(), localK = new ArrayList<>();
            Expr guard = null;
            for (int d = 0; d < box.size(); d++) {
                Regions.Dim dim = box.get(d);
                Expr.Var v = Exprs.var(prefix + ".d" + d);
                t.add(v);
                Expr kd = Exprs.add(dim.lo(), v);
                k.add(kd);
                localK.add(v);
                Expr last = Simplify.expr(Exprs.add(dim.lo(), idx(dim.width() - 1)), acc.outer);
                if (Bounds.of(last, acc.outer).hi() > dim.extent() - 1) {
                    Expr ok = Exprs.lt(kd, idx(dim.extent()));
                    guard = guard == null ? ok : Exprs.and(guard, ok);
                }
            }
            Expr global = Regions.flatten(layout, k);
            Expr loc = Regions.flatten(new Regions.Layout(localStrides, box.stream().map(Regions.Dim::width).toList()), localK);
            Stmt s = in ? new Stmt.Store(local, loc, new Expr.Load(buffer, global)) : new Stmt.Store(buffer, global, new Expr.Load(local, loc));
            if (guard != null) s = new Stmt.IfThenElse(guard, s, null);
            for (int d = box.size() - 1; d >= 0; d--) s = new Stmt.For(t.get(d), idx(0), idx(box.get(d).width()), ForKind.SERIAL, s);
            return s;
        }
    }
}
