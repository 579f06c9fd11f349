package dev.kiln.schedules;

import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Substitute;
import dev.kiln.irlow.transform.Vars;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Schedule primitives on the loop nests of a lowered function, Halide/TVM style: each call
 * rewrites the loops and is recorded as a {@link Step}, so the schedule can be printed, stored
 * in a tuning record and replayed. Loops are named by their variables ({@code C.i0}); split
 * makes {@code C.i0.o}/{@code C.i0.i}, fuse makes {@code outer.inner.f}. The IR is not
 * simplified here: {@code LoweringPipeline} does that before codegen.
 */
public final class Schedule {
    private PrimFunc func;
    private final List<Step> trace = new ArrayList<>();

    public Schedule(PrimFunc f) {
        Set<String> seen = new HashSet<>();
        for (Stmt.For l : Vars.loops(f.body()))
            if (!seen.add(l.var().name()))
                throw new IllegalArgumentException("kernel " + f.name() + " has two loops named " + l.var().name() + "; schedules need unique loop names");
        this.func = f;
    }

    /** The function with every step so far applied. */
    public PrimFunc func() {
        return func;
    }

    /** Loop names in preorder (outer before inner, first nest before the next). */
    public List<String> loops() {
        return Vars.loops(func.body()).stream().map(l -> l.var().name()).toList();
    }

    /** The constant extent of a loop. */
    public long extent(String loop) {
        Stmt.For l = find(loop);
        if (l.extent() instanceof Expr.IntImm(Type t, long v)) return v;
        throw new IllegalArgumentException("loop " + loop + " of kernel " + func.name() + " has extent " + l.extent() + ", not a constant");
    }

    /**
     * Splits {@code loop} into an outer loop {@code loop.o} and an inner loop {@code loop.i} of
     * extent {@code factor}. When factor does not divide the extent, the innermost body of the
     * nest below is guarded so the extra iterations do nothing. The outer loop keeps the kind.
     */
    public String[] split(String loop, long factor) {
        if (factor < 1) throw new IllegalArgumentException("split " + loop + ": factor must be >= 1, got " + factor);
        Step step = new Step.Split(loop, factor); // made first: it checks the names a trace must hold
        Stmt.For l = find(loop);
        String on = loop + ".o", in = loop + ".i";
        checkFree(on);
        checkFree(in);
        Type t = l.var().type();
        Expr.Var o = new Expr.Var(on, t), i = new Expr.Var(in, t);
        Expr f = new Expr.IntImm(t, factor);
        Expr flat = Exprs.add(Exprs.mul(o, f), i);
        Expr value = isZero(l.min()) ? flat : Exprs.add(flat, l.min());
        Stmt body = Substitute.stmt(l.body(), loop, value);
        Expr outerExtent;
        if (l.extent() instanceof Expr.IntImm(Type et, long n)) {
            outerExtent = new Expr.IntImm(et, Math.ceilDiv(n, factor));
            if (n % factor != 0) body = guardInnermost(body, Exprs.lt(flat, l.extent()));
        } else {
            outerExtent = Exprs.div(Exprs.add(l.extent(), new Expr.IntImm(t, factor - 1)), f);
            body = guardInnermost(body, Exprs.lt(flat, l.extent()));
        }
        Stmt result = new Stmt.For(o, new Expr.IntImm(t, 0), outerExtent, l.kind(),
                new Stmt.For(i, new Expr.IntImm(t, 0), f, ForKind.SERIAL, body));
        replace(loop, x -> result);
        trace.add(step);
        return new String[] {on, in};
    }

    /**
     * Splits two nested loops and puts both outer loops outside both inner ones: the classic
     * tiling, recorded as its split and reorder steps. Returns {x.o, y.o, x.i, y.i}.
     */
    public String[] tile(String x, String y, long xFactor, long yFactor) {
        String[] xs = split(x, xFactor);
        String[] ys = split(y, yFactor);
        reorder(xs[0], ys[0], xs[1], ys[1]);
        return new String[] {xs[0], ys[0], xs[1], ys[1]};
    }

    /**
     * Permutes the named loops among the positions they occupy; loops between them that are not
     * named stay where they are. The loops from the outermost to the innermost named one must
     * form a perfect nest.
     */
    public void reorder(String... loops) {
        if (loops.length == 0) throw new IllegalArgumentException("reorder needs at least one loop");
        Step step = new Step.Reorder(List.of(loops));
        Set<String> named = new LinkedHashSet<>(List.of(loops));
        if (named.size() != loops.length) throw new IllegalArgumentException("reorder " + String.join(" ", loops) + ": a loop is named twice");
        for (String n : loops) find(n);

        Stmt.For outer = outermost(named);
        List<Stmt.For> chain = new ArrayList<>();
        Set<String> found = new HashSet<>();
        Stmt.For cur = outer;
        while (true) {
            chain.add(cur);
            if (named.contains(cur.var().name())) found.add(cur.var().name());
            if (found.size() == named.size()) break;
            if (!(cur.body() instanceof Stmt.For next))
                throw new IllegalArgumentException("cannot reorder " + String.join(", ", loops) + " in kernel " + func.name()
                        + ": the body of loop " + cur.var().name() + " is " + describe(cur.body())
                        + ", not a single loop, so the loops are not a perfect nest");
            cur = next;
        }
        List<Integer> positions = new ArrayList<>();
        for (int p = 0; p < chain.size(); p++) if (named.contains(chain.get(p).var().name())) positions.add(p);
        List<Stmt.For> headers = new ArrayList<>(chain);
        for (int j = 0; j < positions.size(); j++) headers.set(positions.get(j), find(loops[j]));
        // A loop's bounds may only use variables of loops that stay outside it.
        for (int p = 0; p < headers.size(); p++) {
            Set<String> inside = new HashSet<>();
            for (int q = p; q < headers.size(); q++) inside.add(headers.get(q).var().name());
            Stmt.For h = headers.get(p);
            if (Vars.usesAny(h.min(), inside) || Vars.usesAny(h.extent(), inside))
                throw new IllegalArgumentException("cannot reorder " + String.join(", ", loops) + ": the bounds of loop "
                        + h.var().name() + " depend on a loop that would move inside it");
        }
        Stmt body = chain.getLast().body();
        for (int p = headers.size() - 1; p >= 0; p--) {
            Stmt.For h = headers.get(p);
            body = new Stmt.For(h.var(), h.min(), h.extent(), h.kind(), body);
        }
        Stmt result = body;
        replace(outer.var().name(), x -> result);
        trace.add(step);
    }

    /** Fuses a loop and the loop directly inside it into one loop {@code outer.inner.f}. */
    public String fuse(String outer, String inner) {
        Step step = new Step.Fuse(outer, inner);
        Stmt.For o = find(outer);
        find(inner);
        if (!(o.body() instanceof Stmt.For i) || !i.var().name().equals(inner))
            throw new IllegalArgumentException("cannot fuse " + outer + " and " + inner + " in kernel " + func.name() + ": " + inner
                    + " is not the loop directly inside " + outer + " (its body is " + describe(o.body()) + ")");
        if (Vars.uses(i.min(), outer) || Vars.uses(i.extent(), outer))
            throw new IllegalArgumentException("cannot fuse " + outer + " and " + inner + ": the bounds of " + inner + " depend on " + outer);
        String name = outer + "." + inner + ".f";
        checkFree(name);
        Type t = o.var().type();
        Expr.Var fv = new Expr.Var(name, t);
        Expr extent = o.extent() instanceof Expr.IntImm(Type a, long x) && i.extent() instanceof Expr.IntImm(Type b, long y)
                ? new Expr.IntImm(a, Math.multiplyExact(x, y))
                : Exprs.mul(o.extent(), i.extent());
        Expr outerValue = Exprs.div(fv, i.extent()), innerValue = Exprs.mod(fv, i.extent());
        if (!isZero(o.min())) outerValue = Exprs.add(outerValue, o.min());
        if (!isZero(i.min())) innerValue = Exprs.add(innerValue, i.min());
        Stmt body = Substitute.stmt(i.body(), Map.of(outer, outerValue, inner, innerValue));
        Stmt result = new Stmt.For(fv, new Expr.IntImm(t, 0), extent, o.kind(), body);
        replace(outer, x -> result);
        trace.add(step);
        return name;
    }

    public void parallel(String loop) {
        annotate(loop, ForKind.PARALLEL);
    }

    /** Marks a loop for vectorization; {@code VectorizeLoops} turns it into vector code when it can. */
    public void vectorize(String loop) {
        annotate(loop, ForKind.VECTORIZED);
    }

    public void unroll(String loop) {
        annotate(loop, ForKind.UNROLLED);
    }

    /** Sets how a loop runs (also GPU binding: {@code GPU_BLOCK_X}, ...). */
    public void annotate(String loop, ForKind kind) {
        Step step = new Step.Annotate(loop, kind);
        find(loop);
        replace(loop, l -> {
            Stmt.For f = (Stmt.For) l;
            return new Stmt.For(f.var(), f.min(), f.extent(), kind, f.body());
        });
        trace.add(step);
    }

    /**
     * Binds a loop to a GPU block or thread index ({@code GPU_BLOCK_X} is blockIdx.x, ...). Refuses
     * the other kinds, and a second loop of the same nest (around or inside) on the same index.
     */
    public void bind(String loop, ForKind gpuKind) {
        Step step = new Step.Bind(loop, gpuKind);
        Stmt.For l = find(loop);
        List<Stmt.For> nest = new ArrayList<>(Vars.loops(l.body()));
        for (Stmt.For x : Vars.loops(func.body())) if (x != l && Vars.loops(x.body()).contains(l)) nest.add(x);
        for (Stmt.For x : nest)
            if (x.kind() == gpuKind)
                throw new IllegalArgumentException("cannot bind " + loop + " to " + Step.Bind.gpuName(gpuKind) + " in kernel " + func.name()
                        + ": loop " + x.var().name() + " of the same nest is already bound to it");
        replace(loop, s -> {
            Stmt.For f = (Stmt.For) s;
            return new Stmt.For(f.var(), f.min(), f.extent(), gpuKind, f.body());
        });
        trace.add(step);
    }

    /**
     * Inlines an intermediate buffer: each load of it becomes the value its store nest computes
     * there, and the nest and its allocation go. Only a pure nest (each element stored once,
     * from other buffers) of an allocated buffer can be inlined.
     */
    public void computeInline(String buffer) {
        Step step = new Step.ComputeInline(buffer);
        func = Placement.computeInline(func, buffer);
        trace.add(step);
    }

    /**
     * Moves the nests that compute an intermediate buffer to the top of {@code loop}'s body,
     * restricted to the box of elements the body reads in that iteration (into the same
     * full-size buffer). Falls back to the whole buffer when an index cannot be bounded.
     */
    public void computeAt(String buffer, String loop) {
        Step step = new Step.ComputeAt(buffer, loop);
        find(loop);
        func = Placement.computeAt(func, buffer, loop);
        trace.add(step);
    }

    /**
     * Moves the init of reduction {@code buffer} (lowered as its own nest over the whole buffer)
     * to just before {@code loop}, the outermost reduce loop of its update, over the spatial
     * loops inside it: each tile is set to the init value right before it is accumulated, and the
     * separate pass over the buffer goes (TVM's decompose_reduction).
     */
    public void decomposeReduction(String buffer, String loop) {
        Step step = new Step.DecomposeReduction(buffer, loop);
        find(loop);
        func = func.withBody(ReductionInit.apply(func.body(), buffer, loop));
        trace.add(step);
    }

    /**
     * Allocates intermediate {@code buffer}, which only {@code loop}'s body touches, inside that
     * loop with just the elements one iteration touches (storage folding): after
     * {@link #computeAt}, a conv's accumulator becomes a register tile instead of a whole output.
     */
    public void localize(String buffer, String loop) {
        Step step = new Step.Localize(buffer, loop);
        find(loop);
        func = Localize.apply(func, buffer, loop);
        trace.add(step);
    }

    /** Reads of {@code buffer} below {@code loop} go to {@code buffer.local}, a copy of the box they read made in each iteration. */
    public String cacheRead(String buffer, String loop) {
        return cacheRead(buffer, loop, MemoryScope.GLOBAL);
    }

    /**
     * {@link #cacheRead(String, String)} with the local copy in {@code scope}: REGISTER for a
     * per-thread fragment, SHARED for a tile one GPU block shares.
     */
    public String cacheRead(String buffer, String loop, MemoryScope scope) {
        Step step = new Step.CacheRead(buffer, loop, scope);
        find(loop);
        func = Caches.cacheRead(func, buffer, loop, scope);
        trace.add(step);
        return buffer + ".local";
    }

    /** Stores and loads of {@code buffer} below {@code loop} go to {@code buffer.local}, copied back at the end of each iteration. */
    public String cacheWrite(String buffer, String loop) {
        return cacheWrite(buffer, loop, MemoryScope.GLOBAL);
    }

    /** {@link #cacheWrite(String, String)} with the local buffer in {@code scope} (REGISTER: a thread's accumulators). */
    public String cacheWrite(String buffer, String loop, MemoryScope scope) {
        Step step = new Step.CacheWrite(buffer, loop, scope);
        find(loop);
        func = Caches.cacheWrite(func, buffer, loop, scope);
        trace.add(step);
        return buffer + ".local";
    }

    /** Applies one recorded step. */
    public void apply(Step step) {
        switch (step) {
            case Step.Split(String loop, long factor) -> split(loop, factor);
            case Step.Reorder(List<String> order) -> reorder(order.toArray(String[]::new));
            case Step.Fuse(String outer, String inner) -> fuse(outer, inner);
            case Step.Annotate(String loop, ForKind kind) -> annotate(loop, kind);
            case Step.Bind(String loop, ForKind kind) -> bind(loop, kind);
            case Step.ComputeInline(String buffer) -> computeInline(buffer);
            case Step.ComputeAt(String buffer, String loop) -> computeAt(buffer, loop);
            case Step.CacheRead(String buffer, String loop, MemoryScope scope) -> cacheRead(buffer, loop, scope);
            case Step.CacheWrite(String buffer, String loop, MemoryScope scope) -> cacheWrite(buffer, loop, scope);
            case Step.DecomposeReduction(String buffer, String loop) -> decomposeReduction(buffer, loop);
            case Step.Localize(String buffer, String loop) -> localize(buffer, loop);
        }
    }

    public List<Step> trace() {
        return List.copyOf(trace);
    }

    /** The steps so far, one per line. */
    public String printTrace() {
        StringBuilder sb = new StringBuilder();
        for (Step s : trace) sb.append(s.print()).append('\n');
        return sb.toString();
    }

    /** Applies {@code steps} to {@code base}: the same loop IR as the schedule that recorded them. */
    public static Schedule replay(PrimFunc base, List<Step> steps) {
        Schedule s = new Schedule(base);
        for (Step step : steps) s.apply(step);
        return s;
    }

    /** Parses a trace written by {@link #printTrace()} (blank lines and lines starting with # are skipped). */
    public static List<Step> parseTrace(String text) {
        List<Step> steps = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) continue;
            steps.add(Step.parse(l));
        }
        return steps;
    }

    // ---- helpers ----

    private Stmt.For find(String loop) {
        for (Stmt.For l : Vars.loops(func.body())) if (l.var().name().equals(loop)) return l;
        throw new IllegalArgumentException("kernel " + func.name() + " has no loop named " + loop + "; its loops are " + loops());
    }

    private void checkFree(String name) {
        if (loops().contains(name))
            throw new IllegalArgumentException("kernel " + func.name() + " already has a loop named " + name);
    }

    /** Replaces the loop named {@code loop} with {@code f} of it. */
    private void replace(String loop, Function<Stmt, Stmt> f) {
        func = func.withBody(replace(func.body(), loop, f));
    }

    private static Stmt replace(Stmt s, String loop, Function<Stmt, Stmt> f) {
        if (s instanceof Stmt.For l && l.var().name().equals(loop)) return f.apply(s);
        return Children.map(s, c -> replace(c, loop, f), e -> e);
    }

    /** The named loop that every other named loop is inside of. */
    private Stmt.For outermost(Set<String> named) {
        for (String n : named) {
            Set<String> below = new HashSet<>();
            for (Stmt.For l : Vars.loops(find(n).body())) below.add(l.var().name());
            below.add(n);
            if (below.containsAll(named)) return find(n);
        }
        throw new IllegalArgumentException("cannot reorder " + String.join(", ", named) + " in kernel " + func.name()
                + ": they are not all nested inside one of them (they belong to different loop nests)");
    }

    /** Wraps the innermost body of the perfect nest {@code s} in {@code if (cond)}. */
    private static Stmt guardInnermost(Stmt s, Expr cond) {
        if (s instanceof Stmt.For f) return new Stmt.For(f.var(), f.min(), f.extent(), f.kind(), guardInnermost(f.body(), cond));
        return new Stmt.IfThenElse(cond, s, null);
    }

    private static boolean isZero(Expr e) {
        return e instanceof Expr.IntImm(Type t, long v) && v == 0;
    }

    private static String describe(Stmt s) {
        return switch (s) {
            case Stmt.For f -> "the loop " + f.var().name();
            case Stmt.Seq q -> "a sequence of " + q.stmts().size() + " statements";
            case Stmt.IfThenElse i -> "an if";
            case Stmt.LetStmt l -> "a let of " + l.var().name();
            case Stmt.Allocate a -> "an allocation of " + a.buffer().name();
            case Stmt.Barrier b -> "a " + b.scope().name().toLowerCase(Locale.ROOT) + " barrier";
            case Stmt.Store st -> "a store to " + st.buffer().name();
        };
    }
}
