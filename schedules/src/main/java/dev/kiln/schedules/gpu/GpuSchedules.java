package dev.kiln.schedules.gpu;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Operation;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Vars;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.ops.DefaultSchedules;
import dev.kiln.schedules.ops.OpCompute;
import dev.kiln.schedules.ops.Template;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.GpuTarget;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The GPU schedules, written once for OpenCL and CUDA: every kernel becomes one launch whose
 * loops are bound to {@code blockIdx.x}/{@code threadIdx.x} (and y for matmul tiles).
 *
 * <p>The generic template: each nest's spatial axes fused into one loop, split by the work-group
 * size (knob {@code threads}), the outer part bound to blocks and the inner to threads; reduce
 * loops stay serial inside a thread, and a reduction's init moves into the thread just before
 * its reduce loops. One launch has one grid, so every nest binds the same block and thread
 * extents: a nest smaller than the largest gets the same grid and its extra threads do nothing
 * (split's guard).
 *
 * <p>Nests that read what another nest wrote (the reductions of softmax, layer norm or a fused
 * anchor) would race across blocks, since a launch has no grid-wide barrier. The reductions are
 * instead computed inside the thread of the output that reads them ({@link Schedule#computeAt}):
 * the output's leading axes that index the reductions (the rows) are fused and bound, the rest
 * of its axes run serially in that thread. A kernel this cannot place (a reduction read by two
 * outputs, an output read by another, a scalar output) runs as one thread, which is slow but
 * correct: LaunchExtents of a kernel with no bound loop is one block of one thread. So does a
 * kernel whose loops a primitive refuses to rewrite (see {@link #attempt}).
 *
 * <p>Matmul outputs alone in their kernel get the register-tiled template ({@link GpuMatMul}); a
 * conv with its epilogue gets register tiles per thread ({@link GpuEpilogue}).
 */
public final class GpuSchedules {
    private GpuSchedules() {}

    /** Work-group size the default config uses for nests that have that much work. */
    static final long DEFAULT_THREADS = 256;

    /** The largest work-group any template asks for (OpenCL and CUDA devices allow 1024 at most on x). */
    static final long MAX_THREADS = 1024;

    /** Schedules every nest of {@code s}, the lowered form of {@code c}, for {@code gpu}. */
    public static void apply(Schedule s, OpCompute c, GpuTarget gpu, Knobs knobs) {
        List<Compute> computes = DefaultSchedules.materialized(c);
        Set<Compute> outputs = new HashSet<>(c.outputs());
        List<Compute> intermediates = consumersFirst(computes.stream().filter(k -> !outputs.contains(k)).toList());
        boolean dependent = dependent(computes);
        boolean scalar = computes.stream().anyMatch(k -> k.axes().isEmpty());
        Compute out = c.outputs().size() == 1 ? c.outputs().getFirst() : null;
        // The plan: rows of the output per thread (dependent), whole nests (independent), or one thread (0 units).
        int rows = scalar || !dependent || out == null ? 0 : rowAxes(s, out, intermediates);
        long units = !scalar && !dependent ? computes.stream().mapToLong(Compute::numel).max().orElse(0)
                : rows > 0 ? DefaultSchedules.product(out.shape().subList(0, rows)) : 0;
        long generic = Math.max(units, 1);
        // Knob `threads` is declared once, by the first plan that asks, with that plan's default.
        long[] chosen = {0};
        Threads threadsFor = (u, spread) -> chosen[0] != 0 ? chosen[0] : (chosen[0] = threadsKnob(knobs, gpu, u, spread));

        if (!dependent) threadsFor.get(generic, false); // declared before the matmul's knobs (its generic fallback uses it)
        if (!dependent && computes.size() == 1) {
            Compute k = computes.getFirst();
            Template t = c.templateOf(k);
            if ((t == Template.MATMUL || t == Template.MATMUL_PACKED) && GpuMatMul.apply(s, k, t, gpu, knobs)) return;
        }
        if (units == 0) return; // one thread runs the kernel
        if (!dependent) {
            attempt(s, t -> {
                List<Nest> nests = new ArrayList<>();
                for (Compute k : computes) {
                    // An init that cannot move into its update keeps its own nest, bound the same
                    // way, so the thread that zeroes an element is the one that accumulates it.
                    if (k.body() instanceof Expr.Reduce && !attempt(t, x -> decompose(x, k)))
                        nests.add(new Nest(names(k.axes()).stream().map(a -> a + ".init").toList(), k.numel()));
                    nests.add(new Nest(names(k.axes()), k.numel()));
                }
                bindAll(t, nests, threadsFor.get(generic, false));
            });
            return;
        }
        boolean[] tiled = {false};
        if (attempt(s, t -> tiled[0] = GpuEpilogue.apply(t, c, gpu, knobs, intermediates, threadsFor)) && tiled[0]) return;
        long threads = threadsFor.get(generic, false);
        int r = rows;
        attempt(s, t -> {
            List<String> sp = names(out.axes());
            String f = sp.getFirst();
            for (int d = 1; d < r; d++) f = t.fuse(f, sp.get(d));
            for (Compute k : intermediates) t.computeAt(k.name(), f);
            for (Compute k : computes) attempt(t, x -> decompose(x, k)); // else the init runs in the same thread
            bindAll(t, List.of(new Nest(List.of(f), units)), threads);
        });
        // Otherwise (a shape the placement primitives refuse) one thread runs the kernel.
    }

    /**
     * Runs {@code plan} on a copy of {@code s} and, when no primitive refuses a step, replays its
     * steps on {@code s}; true if it did. Lets a template fall back to a plainer plan for the
     * rare kernel whose loops a primitive cannot rewrite, instead of failing the compile.
     */
    static boolean attempt(Schedule s, java.util.function.Consumer<Schedule> plan) {
        Schedule trial = new Schedule(s.func());
        try {
            plan.accept(trial);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            // IndexOutOfBounds: Regions.decompose on a reduction to one element (Placement bug, to fix there).
            return false;
        }
        for (dev.kiln.schedules.Step step : trial.trace()) s.apply(step);
        return true;
    }

    /** The work-group size for a plan of {@code units} threads' work (declaring knob {@code threads} the first time). */
    @FunctionalInterface
    interface Threads {
        /** {@code spread}: a default small enough that every compute unit gets a few work-groups. */
        long get(long units, boolean spread);
    }

    /** The loops of one nest that the threads share out, and how many iterations they have together. */
    record Nest(List<String> loops, long units) {}

    /**
     * Fuses each nest's loops, splits the fused loop by the work-group size and binds it; every
     * nest gets the grid of the largest, so the launch extents agree.
     */
    static void bindAll(Schedule s, List<Nest> nests, long threads) {
        long most = nests.stream().mapToLong(Nest::units).max().orElse(1);
        long grid = Math.ceilDiv(most, threads);
        for (Nest n : nests) {
            String f = n.loops().getFirst();
            for (int d = 1; d < n.loops().size(); d++) f = s.fuse(f, n.loops().get(d));
            String[] oi = s.split(f, threads);
            String block = oi[0];
            if (Math.ceilDiv(n.units(), threads) != grid) {
                // Fewer blocks of work than the grid: the extra blocks skip it (split's guard).
                String[] bo = s.split(oi[0], grid);
                s.reorder(bo[1], oi[1], bo[0]);
                block = bo[1];
            }
            s.bind(block, ForKind.GPU_BLOCK_X);
            s.bind(oi[1], ForKind.GPU_THREAD_X);
        }
    }

    /**
     * Knob {@code threads}: the work-group size, a power of two from the warp size to the
     * device's limit (at most {@link #MAX_THREADS}); by default {@link #DEFAULT_THREADS}, or the
     * smallest that covers {@code units} iterations when there are fewer; with {@code spread}, no
     * more than gives each compute unit four work-groups (but at least a warp).
     */
    static long threadsKnob(Knobs knobs, GpuTarget gpu, long units, boolean spread) {
        List<Long> choices = powersOfTwo(gpu.warpSize(), Math.min(MAX_THREADS, gpu.maxThreadsPerBlock()));
        long want = Math.min(DEFAULT_THREADS, Math.max(gpu.warpSize(), Long.highestOneBit(Math.max(1, units - 1)) << 1));
        if (spread) want = Math.max(gpu.warpSize(), Math.min(want, Long.highestOneBit(Math.max(1, units / (4L * Math.max(1, gpu.computeUnits()))))));
        long heuristic = choices.getFirst();
        for (long t : choices) if (t <= want) heuristic = t;
        return knobs.choose("threads", choices, heuristic);
    }

    /** Powers of two in [lo, hi]; just {@code hi} when there is none. */
    static List<Long> powersOfTwo(long lo, long hi) {
        List<Long> r = new ArrayList<>();
        for (long p = 1; p <= hi; p *= 2) if (p >= lo) r.add(p);
        return r.isEmpty() ? List.of(hi) : r;
    }

    /** The intermediates ordered so that each comes before those it reads: computeAt moves a consumer before its producers. */
    static List<Compute> consumersFirst(List<Compute> intermediates) {
        List<Compute> producersFirst = new ArrayList<>();
        for (Compute k : intermediates) visit(k, intermediates, new HashSet<>(), producersFirst);
        return producersFirst.reversed();
    }

    private static void visit(Operation op, List<Compute> intermediates, Set<Operation> seen, List<Compute> order) {
        if (!seen.add(op) || !(op instanceof Compute k)) return;
        for (Operation in : k.inputs()) visit(in, intermediates, seen, order);
        if (intermediates.contains(k) && !order.contains(k)) order.add(k);
    }

    /** Moves a reduction's init into its update nest, just before the reduce loops: in the thread that accumulates. */
    static void decompose(Schedule s, Compute k) {
        if (k.body() instanceof Expr.Reduce r && !r.axes().isEmpty()) s.decomposeReduction(k.name(), r.axes().getFirst().name());
    }

    /** Whether some nest reads what another nest writes. */
    static boolean dependent(List<Compute> computes) {
        for (Compute k : computes) if (readsOther(k, computes)) return true;
        return false;
    }

    /** Whether {@code k} reads (through the computes inlined into it) another of {@code computes}. */
    private static boolean readsOther(Compute k, List<Compute> computes) {
        Set<Operation> seen = new HashSet<>();
        List<Operation> todo = new ArrayList<>(k.inputs());
        while (!todo.isEmpty()) {
            Operation op = todo.removeLast();
            if (!seen.add(op) || !(op instanceof Compute ck)) continue;
            if (computes.contains(ck)) return true;
            todo.addAll(ck.inputs());
        }
        return false;
    }

    /**
     * How many leading axes of {@code out} index the intermediates it reads: the loops a thread
     * takes, the rest running inside it. 0 when an intermediate is read whole by every element.
     */
    private static int rowAxes(Schedule s, Compute out, List<Compute> intermediates) {
        List<String> sp = names(out.axes());
        Set<String> mids = new HashSet<>(intermediates.stream().map(Compute::name).toList());
        Stmt nest = null;
        for (Stmt.For l : Vars.loops(s.func().body())) if (l.var().name().equals(sp.getFirst())) nest = l;
        if (nest == null) return 0;
        int[] rows = {0};
        visitLoads(nest, ld -> {
            if (!mids.contains(ld.buffer().name())) return;
            Set<String> used = Vars.of(ld.index());
            for (int d = 0; d < sp.size(); d++) if (used.contains(sp.get(d))) rows[0] = Math.max(rows[0], d + 1);
        });
        return rows[0];
    }

    private static void visitLoads(Stmt s, java.util.function.Consumer<Expr.Load> f) {
        Children.forEach(s, c -> visitLoads(c, f), e -> visitLoads(e, f));
    }

    private static void visitLoads(Expr e, java.util.function.Consumer<Expr.Load> f) {
        if (e instanceof Expr.Load ld) f.accept(ld);
        Children.forEach(e, c -> visitLoads(c, f));
    }

    static List<String> names(List<Expr.Var> vars) {
        return vars.stream().map(Expr.Var::name).toList();
    }
}
