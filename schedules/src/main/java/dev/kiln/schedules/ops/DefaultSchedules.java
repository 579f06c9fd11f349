package dev.kiln.schedules.ops;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Operation;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Vars;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The heuristic schedule of every op kind, so an untuned compile is already reasonable: each
 * materialized compute of a kernel (outputs and reduction intermediates) gets the schedule of
 * its {@link Template}, applied through {@link Schedule} so the result is a replayable trace.
 *
 * <p>Loop names follow lowering: a compute's loops are its axes ({@code C.i0, ...}) and the
 * reduce axes of its body; a reduction's init nest uses {@code <axis>.init}.
 *
 * <p>Knobs (declared in scope {@code i}, the compute's number among {@link #materialized}; the
 * default of each is the heuristic described on its template, and every value is correct for the
 * shape: tile sizes divide their extent, and the only guarded split is a default's):
 * <ul>
 *   <li>{@code vector} (injective): how the nest is cut into vectors, categorical:
 *       {@code none}, {@code row/F} (the innermost axis in chunks of F, F dividing it or the whole
 *       row) or {@code flat/F} (all axes fused, chunks of F dividing the element count).
 *   <li>{@code vector} (reduction over a non-last axis, pool): the chunk of the innermost spatial
 *       axis vectorized inside the reduce loops; 1 leaves the reduce loops innermost.
 *   <li>{@code j_block} (rfactor): the j rows unrolled around the vector of lanes (divides j).
 *   <li>{@code parallel} (all, when the target has more than one core): whether the fused outer
 *       loops run in parallel; the default is "when the nest has at least
 *       {@link #PARALLEL_MIN_WORK} iterations".
 * </ul>
 * Matmul knobs are listed on {@link MatMulSchedule}; conv declares none yet. The init nest of a
 * reduction is always scheduled by the heuristic.
 */
public final class DefaultSchedules {
    private DefaultSchedules() {}

    /** Work (loop iterations) below which a nest runs on one thread: forking costs more than it saves. */
    static final long PARALLEL_MIN_WORK = 1 << 16;

    /** The widest loop VectorizeLoops turns into vector code. */
    static final long MAX_VECTOR = 64;

    /** Schedules every nest of {@code s}, the lowered form of {@code c}, for {@code target}. */
    public static void apply(Schedule s, OpCompute c, CpuTarget target) {
        apply(s, c, target, Knobs.defaults());
    }

    /**
     * Schedules every nest with the knob values {@code knobs} gives; compute number i of
     * {@link #materialized} declares its knobs in scope {@code i} ({@code 0.tile_rows}).
     */
    public static void apply(Schedule s, OpCompute c, CpuTarget target, Knobs knobs) {
        List<Compute> computes = materialized(c);
        Set<Compute> done = new HashSet<>();
        for (int i = 0; i < computes.size(); i++) {
            Compute k = computes.get(i);
            if (done.contains(k)) continue;
            Knobs kn = knobs.scope(String.valueOf(i));
            Compute conv = ConvSchedule.blockedProducer(k, c);
            if (conv != null && computes.contains(conv)) {
                // A blocked conv and its epilogue: one nest, the epilogue applied to each register tile.
                // The conv, and a padded input it copies row by row, are scheduled with the epilogue.
                done.addAll(ConvSchedule.withEpilogue(s, conv, k, target, kn));
                continue;
            }
            switch (c.templateOf(k)) {
                case INJECTIVE -> injective(s, k, target, kn);
                case REDUCTION -> reduction(s, k, target, kn);
                case MATMUL, MATMUL_PACKED -> MatMulSchedule.apply(s, k, c.templateOf(k), target, kn);
                case RFACTOR -> rfactor(s, k, target, kn);
                case CONV -> ConvSchedule.conv(s, k, target);
                case CONV_NCHWC -> ConvSchedule.blockedAlone(s, k, target);
                case POOL -> pool(s, k, target, kn);
            }
        }
    }

    /** The computes that get their own loop nest: the outputs and the reductions they read, transitively. */
    public static List<Compute> materialized(OpCompute c) {
        Set<Compute> out = new LinkedHashSet<>(c.outputs());
        Set<Operation> seen = new HashSet<>();
        for (Compute o : c.outputs()) collect(o, out, seen);
        return List.copyOf(out);
    }

    private static void collect(Compute k, Set<Compute> out, Set<Operation> seen) {
        if (!seen.add(k)) return;
        if (k.body() instanceof Expr.Reduce) out.add(k);
        for (Operation in : k.inputs()) if (in instanceof Compute ck) collect(ck, out, seen);
    }

    // ---- templates ----

    /**
     * Vectorize the innermost axis in chunks that divide it, so a vector never straddles two rows
     * (its loads stay contiguous and broadcast operands stay scalar), then fuse everything
     * outside into one loop, parallel when the nest is big. Rows too short for that (or with no
     * fitting divisor) are fused with the outer loops into one flat vectorized loop instead.
     */
    static void injective(Schedule s, Compute k, CpuTarget target) {
        injective(s, k, target, Knobs.defaults());
    }

    /** {@link #injective(Schedule, Compute, CpuTarget)} with knobs {@code vector} and {@code parallel}. */
    static void injective(Schedule s, Compute k, CpuTarget target, Knobs knobs) {
        if (k.body() instanceof Expr.Reduce) {
            reduction(s, k, target, knobs);
            return;
        }
        List<String> loops = names(k.axes(), "");
        if (columnsWanted(k, lanes(k, target))) {
            columns(s, loops, k.shape(), lanes(k, target), target, knobs);
            return;
        }
        injectiveNest(s, loops, k.shape(), lanes(k, target), target, knobs);
    }

    /**
     * Whether {@code k} moves a short innermost axis (fewer elements than a vector) across a long
     * one its input has innermost: a layout change such as NCHW to NCHW3c, {@code Y[.., w, c] =
     * X[.., c, .., w]}. A flat vector over all axes would compute every lane's input index with
     * divisions and gather it; {@link #columns} reads rows of the input instead.
     */
    static boolean columnsWanted(Compute k, int lanes) {
        int n = k.shape().size();
        if (n < 2 || k.shape().get(n - 1) >= lanes || k.shape().get(n - 2) < lanes) return false;
        Expr.Var w = k.axes().get(n - 2);
        boolean[] rowRead = {false};
        visitReads(k.body(), r -> {
            if (!r.indices().isEmpty() && r.indices().getLast() instanceof Expr.Var v && v.name().equals(w.name())) rowRead[0] = true;
        });
        return rowRead[0];
    }

    /**
     * {@code (outer..., w.o, c, w.i)}: the second-to-last axis {@code w} vectorized (contiguous
     * input rows), the short last axis {@code c} unrolled inside it (each lane writes with the
     * output's stride), everything outside fused and parallel when the nest is big.
     */
    private static void columns(Schedule s, List<String> loops, List<Long> extents, int lanes, CpuTarget target, Knobs knobs) {
        int n = loops.size();
        String w = loops.get(n - 2), c = loops.get(n - 1);
        long we = extents.get(n - 2);
        long chunk = divides(lanes, we) ? lanes : defaultChunk(we, lanes, lanes);
        String[] oi = vectorize(s, w, we, chunk);
        List<String> order = new ArrayList<>(loops.subList(0, n - 2));
        if (oi[0] != null) order.add(oi[0]);
        order.add(c);
        order.add(oi[1]);
        s.reorder(order.toArray(String[]::new));
        s.unroll(c);
        List<String> outer = new ArrayList<>(loops.subList(0, n - 2));
        if (oi[0] != null) outer.add(oi[0]);
        if (outer.isEmpty()) return;
        String f = outer.get(0);
        for (int d = 1; d < outer.size(); d++) f = s.fuse(f, outer.get(d));
        if (parallelKnob(knobs, product(extents), target) && s.extent(f) > 1) s.parallel(f);
    }

    /** How an injective nest is cut into vectors: chunks of {@code chunk} of the last axis, or of all axes fused. */
    private record Chunking(boolean flat, long chunk) {
        String label() {
            return chunk < 2 ? "none" : (flat ? "flat/" : "row/") + chunk;
        }
    }

    private static void injectiveNest(Schedule s, List<String> loops, List<Long> extents, int lanes, CpuTarget target, Knobs knobs) {
        if (loops.isEmpty()) return;
        long numel = product(extents), last = extents.getLast();
        long max = Math.min(lanes * 4L, MAX_VECTOR);
        boolean rows = loops.size() == 1 || (last >= lanes && (last <= max || divides(vectorFactor(last, lanes, max), last)))
                || !divides(vectorFactor(numel, lanes, max), numel);
        Chunking heuristic = rows ? new Chunking(false, defaultChunk(last, lanes, max)) : new Chunking(true, defaultChunk(numel, lanes, max));
        List<Chunking> options = new ArrayList<>();
        for (long f : chunkChoices(last, lanes, rows ? heuristic.chunk() : 1)) options.add(new Chunking(false, f));
        if (loops.size() > 1)
            for (long f : chunkChoices(numel, lanes, rows ? 1 : heuristic.chunk()))
                if (f > 1 && (last % f != 0 || f == heuristic.chunk() && !rows)) options.add(new Chunking(true, f));
        if (!options.contains(heuristic)) options.add(heuristic);     // a row of one element: "none"
        Chunking c = options.get(knobs.chooseOne("vector", options.stream().map(Chunking::label).toList(), options.indexOf(heuristic)));
        boolean parallel = parallelKnob(knobs, numel, target);

        List<String> outer = new ArrayList<>(loops.subList(0, loops.size() - 1));
        if (!c.flat()) {
            String o = vectorize(s, loops.getLast(), last, c.chunk())[0];
            if (o != null) outer.add(o);
        } else {
            String f = loops.get(0);
            for (int d = 1; d < loops.size(); d++) f = s.fuse(f, loops.get(d));
            outer = new ArrayList<>();
            String o = vectorize(s, f, numel, c.chunk())[0];
            if (o != null) outer.add(o);
        }
        if (outer.isEmpty()) return;
        String f = outer.get(0);
        for (int d = 1; d < outer.size(); d++) f = s.fuse(f, outer.get(d));
        if (parallel && s.extent(f) > 1) s.parallel(f);
    }

    private static boolean divides(long f, long n) {
        return f <= n && n % f == 0;
    }

    /**
     * Spatial loops outside, reduce loops inside. Where the innermost spatial axis is also the
     * innermost axis of every input read (a reduction over a non-last axis), the reduce loops move
     * outside it and it is vectorized: each vector lane accumulates its own output.
     */
    static void reduction(Schedule s, Compute k, CpuTarget target, Knobs knobs) {
        Expr.Reduce r = (Expr.Reduce) k.body();
        List<String> sp = names(k.axes(), ""), red = names(r.axes(), "");
        initNest(s, k, target);
        int lanes = lanes(k, target);
        long work = k.numel() * product(r.extents());
        long last = k.shape().getLast();
        List<String> outer = new ArrayList<>(sp);
        if (last > 1 && contiguousInSpatial(k, r)) {
            long heuristic = defaultChunk(last, lanes, Math.min(lanes * 2L, MAX_VECTOR));
            long chunk = knobs.choose("vector", chunkChoices(last, lanes, heuristic), heuristic);
            if (chunk > 1) {
                String[] oi = vectorize(s, outer.removeLast(), last, chunk);
                if (oi[0] != null) outer.add(oi[0]);
                List<String> order = new ArrayList<>(outer);
                order.addAll(red);
                order.add(oi[1]);
                s.reorder(order.toArray(String[]::new));
            }
        }
        // A materialized copy (a sum over unit axes): its zeroing goes next to the copy of each
        // element, where the compiler drops it, instead of a whole pass of its own.
        if (r.extents().stream().allMatch(e -> e == 1)) s.decomposeReduction(k.name(), red.get(0));
        parallelOuter(s, outer, parallelKnob(knobs, work, target));
    }

    /**
     * {@code P[.., j, l] += A[.., ko*L + l] * B[j, ko*L + l]}: order {@code (.., j.o, ko, j.i, l)}
     * with l vectorized and up to 4 j unrolled around it (4 independent accumulators sharing one
     * load of A); the loops outside ko fused and parallel.
     */
    static void rfactor(Schedule s, Compute k, CpuTarget target, Knobs knobs) {
        Expr.Reduce r = (Expr.Reduce) k.body();
        initNest(s, k, target);
        List<String> sp = names(k.axes(), ""), red = names(r.axes(), "");
        int rank = sp.size();
        String j = sp.get(rank - 2), l = sp.get(rank - 1);
        long n = k.shape().get(rank - 2);
        List<Long> blocks = new ArrayList<>();
        for (long b = 1; b <= Math.min(n, 8); b++) if (n % b == 0) blocks.add(b);
        long jb = knobs.choose("j_block", blocks, n % 4 == 0 ? 4 : n % 3 == 0 ? 3 : n % 2 == 0 ? 2 : 1);
        boolean parallel = parallelKnob(knobs, k.numel() * product(r.extents()), target);
        List<String> outer = new ArrayList<>(sp.subList(0, rank - 2));
        String ji = null;
        if (jb > 1) {
            String[] x = s.split(j, jb);
            outer.add(x[0]);
            ji = x[1];
        } else {
            outer.add(j);
        }
        List<String> order = new ArrayList<>(outer);
        order.addAll(red);
        if (ji != null) order.add(ji);
        order.add(l);
        s.reorder(order.toArray(String[]::new));
        s.vectorize(l);
        if (ji != null) s.unroll(ji);
        parallelOuter(s, outer, parallel);
    }

    /** Pooling: like conv, the window loops between the outer and the vectorized inner part of the last spatial axis. */
    static void pool(Schedule s, Compute k, CpuTarget target, Knobs knobs) {
        Expr.Reduce r = (Expr.Reduce) k.body();
        initNest(s, k, target);
        List<String> sp = names(k.axes(), ""), red = names(r.axes(), "");
        windowed(s, k, sp, red, lanes(k, target), target, knobs);
        parallelOuter(s, sp.subList(0, 2), parallelKnob(knobs, k.numel() * product(r.extents()), target));
    }

    /** Orders {@code (n, c, spatial[:-1]..., last.o, reduce..., last.i)} and vectorizes last.i. */
    static void windowed(Schedule s, Compute k, List<String> sp, List<String> red, int maxVector, CpuTarget target) {
        windowed(s, k, sp, red, maxVector, target, Knobs.defaults());
    }

    /** {@link #windowed(Schedule, Compute, List, List, int, CpuTarget)} with knob {@code vector} (1: window loops stay innermost). */
    static void windowed(Schedule s, Compute k, List<String> sp, List<String> red, int maxVector, CpuTarget target, Knobs knobs) {
        long ow = k.shape().getLast();
        if (sp.size() < 3 || ow < 2) return;
        int lanes = lanes(k, target);
        long heuristic = defaultChunk(ow, lanes, Math.min(maxVector, MAX_VECTOR));
        long chunk = knobs.choose("vector", chunkChoices(ow, lanes, heuristic), heuristic);
        if (chunk < 2) return;
        String[] oi = vectorize(s, sp.getLast(), ow, chunk);
        List<String> order = new ArrayList<>(sp.subList(0, sp.size() - 1));
        if (oi[0] != null) order.add(oi[0]);
        order.addAll(red);
        order.add(oi[1]);
        s.reorder(order.toArray(String[]::new));
    }

    /** The init nest of a reduction, scheduled like an elementwise nest (by the heuristic: it declares no knobs). */
    static void initNest(Schedule s, Compute k, CpuTarget target) {
        List<String> init = names(k.axes(), ".init");
        if (!s.loops().contains(init.getFirst())) return; // a reduction over one element has none (LowerTe)
        injectiveNest(s, init, k.shape(), lanes(k, target), target, Knobs.defaults());
    }

    /**
     * Knob {@code parallel}, declared when the target has cores to share: whether the outer loops
     * of a nest of {@code work} iterations run in parallel (by default when work is big enough).
     */
    static boolean parallelKnob(Knobs knobs, long work, CpuTarget target) {
        return target.cores() > 1 && knobs.flag("parallel", work >= PARALLEL_MIN_WORK);
    }

    /** Fuses the given outermost loops of a nest and runs them in parallel when the nest is big enough. */
    static void parallelOuter(Schedule s, List<String> outer, Compute k, long work, CpuTarget target) {
        parallelOuter(s, outer, work >= PARALLEL_MIN_WORK && target.cores() >= 2);
    }

    /** Fuses the given outermost loops of a nest and runs them in parallel, when {@code parallel}. */
    static void parallelOuter(Schedule s, List<String> outer, boolean parallel) {
        if (outer.isEmpty() || !parallel) return;
        List<String> loops = s.loops();
        int first = loops.indexOf(outer.get(0));
        // Fuse only a run of loops that are directly nested in order (split may have moved things).
        String f = outer.get(0);
        long extent = s.extent(f);
        for (int d = 1; d < outer.size(); d++) {
            if (loops.indexOf(outer.get(d)) != first + d) break;
            f = s.fuse(f, outer.get(d));
            extent = s.extent(f);
        }
        if (extent > 1) s.parallel(f);
    }

    // ---- helpers ----

    /**
     * Whether the last axis of {@code k} indexes the innermost dimension of every tensor the
     * reduction reads (and no reduce axis does), so vectorizing it gives contiguous loads.
     */
    static boolean contiguousInSpatial(Compute k, Expr.Reduce r) {
        String last = k.axes().getLast().name();
        Set<String> red = new HashSet<>(names(r.axes(), ""));
        boolean[] ok = {true, false};
        visitReads(r.source(), t -> {
            if (t.indices().isEmpty()) return;
            Expr inner = t.indices().getLast();
            Set<String> vars = Vars.of(inner);
            if (vars.contains(last)) ok[1] = true;
            boolean spatialAbove = false;
            for (int d = 0; d < t.indices().size() - 1; d++) spatialAbove |= Vars.uses(t.indices().get(d), last);
            if (Vars.usesAny(inner, red) || spatialAbove || (!vars.contains(last) && t.tensor().shape().getLast() > 1)) ok[0] = false;
        });
        return ok[0] && ok[1];
    }

    private static void visitReads(Expr e, java.util.function.Consumer<Expr.TensorRead> f) {
        if (e instanceof Expr.TensorRead t) f.accept(t);
        Children.forEach(e, c -> visitReads(c, f));
    }

    /** Vector lanes for the compute's element type. */
    static int lanes(Compute k, CpuTarget target) {
        return target.vectorLanes(k.dtype().bytes());
    }

    /**
     * Vectorizes loop {@code loop} of extent n in chunks of at most {@code max} lanes: the whole
     * loop when it fits, else split with an inner part that is a multiple of the register width
     * dividing n, else any divisor of n in [max/2, max], else {@code max} with a guarded tail
     * (which VectorizeLoops may leave to LLVM). Returns {outer or null, vectorized loop}.
     */
    static String[] vectorize(Schedule s, String loop, long n, int lanes, long max) {
        if (n < 2) return new String[] {loop, null};
        if (n <= max) {
            s.vectorize(loop);
            return new String[] {null, loop};
        }
        String[] oi = s.split(loop, vectorFactor(n, lanes, max));
        s.vectorize(oi[1]);
        return oi;
    }

    /**
     * Vectorizes loop {@code loop} of extent n in chunks of {@code chunk}: the whole loop when the
     * chunk covers it, nothing when it is 1 (or n < 2), else split (guarded when chunk does not
     * divide n). Returns {outer or null, vectorized loop or null}.
     */
    static String[] vectorize(Schedule s, String loop, long n, long chunk) {
        if (n < 2 || chunk < 2) return new String[] {loop, null};
        if (chunk >= n) {
            s.vectorize(loop);
            return new String[] {null, loop};
        }
        String[] oi = s.split(loop, chunk);
        s.vectorize(oi[1]);
        return oi;
    }

    /** The chunk {@link #vectorize(Schedule, String, long, int, long)} picks for extent n. */
    static long defaultChunk(long n, int lanes, long max) {
        return n < 2 ? 1 : n <= max ? n : vectorFactor(n, lanes, max);
    }

    /**
     * Candidate vector chunks of a loop of extent n, ascending: 1 (not vectorized), the whole loop
     * when it fits {@link #MAX_VECTOR}, every multiple of the register width up to MAX_VECTOR that
     * divides n, and {@code heuristic} (the default, which may be a guarded split).
     */
    static List<Long> chunkChoices(long n, int lanes, long heuristic) {
        Set<Long> c = new java.util.TreeSet<>(List.of(1L, heuristic));
        if (n >= 2 && n <= MAX_VECTOR) c.add(n);
        for (long f = lanes; f <= Math.min(n, MAX_VECTOR); f += lanes) if (f > 1 && n % f == 0) c.add(f);
        return List.copyOf(c);
    }

    static long vectorFactor(long n, int lanes, long max) {
        for (long f = max - max % lanes; f >= lanes; f -= lanes) if (n % f == 0) return f;
        for (long f = max; f >= max / 2; f--) if (n % f == 0) return f;
        return max;
    }

    static List<String> names(List<Expr.Var> vars, String suffix) {
        return vars.stream().map(v -> v.name() + suffix).toList();
    }

    public static long product(List<Long> xs) {
        long p = 1;
        for (long x : xs) p *= x;
        return p;
    }
}
