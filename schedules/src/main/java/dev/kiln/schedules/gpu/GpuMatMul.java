package dev.kiln.schedules.gpu;

import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.transform.Children;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.ops.DefaultSchedules;
import dev.kiln.schedules.ops.Template;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.GpuTarget;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The register-tiled GPU matmul ({@code C[batch.., i, j] = sum_k A * B}, B packed into panels or
 * not): each thread accumulates a {@code tile_m x tile_n} tile of C in REGISTER memory, a block of
 * {@code threads_m x threads_n} threads covers a {@code (tile_m*threads_m) x (tile_n*threads_n)}
 * tile of C, and k runs in blocks of {@code k_block}. Loop order
 * {@code (batch*i.o [blockIdx.y], j.o [blockIdx.x], i.t [threadIdx.y], j.t [threadIdx.x], k.o, k.i, i.r, j.r)};
 * with packed B the panel loop and the j tiles inside a panel are fused into blockIdx.x, so a
 * thread's columns never cross a panel.
 *
 * <p>The tile's columns are computed as vectors of {@code vector} lanes (float4 .. float16: a
 * register tile of whole vectors, the B row loaded with one vector load, A broadcast), and the
 * tile's loops are unrolled, so the accumulators stay in registers: on a CPU OpenCL device this is
 * the CPU's own register-blocked micro-kernel, and on a GPU the vector loads halve the load
 * instructions.
 *
 * <p>Knobs: {@code tiled} (off: the generic template and its knob {@code threads}), {@code tile_m},
 * {@code tile_n}, {@code threads_m}, {@code threads_n}, {@code k_block}, {@code vector}, and
 * {@code stage_local}: whether each k step first loads the thread's {@code tile_m} values of A and
 * {@code tile_n} of B into registers (one load per value instead of one per product). Every value
 * is correct: tiles that do not divide the shape are guarded (and then not vectorized).
 *
 * <p>Defaults follow the device's preferred vector width {@code w}: a {@code 8 x 2w} register tile
 * (8x8 on a GPU that prefers float4, 8x32 on an AVX-512 CPU device), 16x16 threads, fewer when
 * the matrix has too few tiles to give every compute unit a few work-groups.
 *
 * <p>Knob {@code stage_shared} (default on for devices preferring float4 or narrower, GPUs): for
 * each k block, the block's tiles of A and B go to local memory first, every thread copying its
 * share between barriers ({@link Schedule#cacheRead} to SHARED inside the thread loops), and the
 * threads read their operands from there; skipped when the tiles exceed the device's local memory
 * or k is not blocked.
 */
final class GpuMatMul {
    private GpuMatMul() {}

    /** Register tile rows per thread. */
    static final List<Long> TILES_M = List.of(1L, 2L, 4L, 8L);

    /** Register tile columns per thread. */
    static final List<Long> TILES_N = List.of(1L, 2L, 4L, 8L, 16L, 32L, 64L);

    /** Vector widths (lanes) of the tile's columns: OpenCL's vector types. */
    static final List<Long> VECTORS = List.of(1L, 2L, 4L, 8L, 16L);

    /** k-block lengths, powers of two up to this. */
    static final long MAX_K_BLOCK = 32;

    /** The most threads per dimension the default gives a block. */
    static final long DEFAULT_SIDE = 16;

    /**
     * Schedules product {@code k} (the kernel's only nest) with the knobs; false, having scheduled
     * nothing, when the config turns tiling off or the product has no i and j axes.
     */
    static boolean apply(Schedule s, Compute k, Template template, GpuTarget gpu, Knobs knobs) {
        Expr.Reduce r = (Expr.Reduce) k.body();
        List<String> sp = GpuSchedules.names(k.axes());
        boolean packed = template == Template.MATMUL_PACKED;
        int rank = sp.size();
        if (r.axes().size() != 1 || rank < (packed ? 3 : 2)) return false;
        long m = k.shape().get(packed ? 0 : rank - 2);
        long panel = packed ? k.shape().get(2) : Long.MAX_VALUE;
        long n = packed ? k.shape().get(1) * panel : k.shape().get(rank - 1);
        long batches = packed ? 1 : DefaultSchedules.product(k.shape().subList(0, rank - 2));
        long kExtent = r.extents().getFirst();
        long side = Long.highestOneBit((long) Math.sqrt(Math.min(GpuSchedules.MAX_THREADS, gpu.maxThreadsPerBlock())));
        List<Long> threadChoices = GpuSchedules.powersOfTwo(1, side);

        long w = Math.max(1, Math.min(16, Long.highestOneBit(gpu.vectorWidth())));
        long defM = largestAtMost(TILES_M, Math.min(8, m));
        long defN = largestAtMost(TILES_N, Math.min(Math.max(4, 2 * w), Math.min(n, panel)));
        boolean tiled = knobs.flag("tiled", m > 1 && n > 1);
        long tm = knobs.choose("tile_m", TILES_M, defM);
        long tn = knobs.choose("tile_n", TILES_N, defN);
        long[] defThreads = defaultThreads(batches, m, n, defM, defN, Math.min(side, DEFAULT_SIDE), gpu.computeUnits(), gpu.warpSize());
        long thm = knobs.choose("threads_m", threadChoices, defThreads[0]);
        long thn = knobs.choose("threads_n", threadChoices, defThreads[1]);
        List<Long> kBlocks = GpuSchedules.powersOfTwo(1, Math.min(MAX_K_BLOCK, Long.highestOneBit(kExtent)));
        long kb = knobs.choose("k_block", kBlocks, kBlocks.getLast() >= 8 ? 8 : kBlocks.getLast());
        long vec = knobs.choose("vector", VECTORS, largestAtMost(VECTORS, Math.min(w, defN)));
        boolean stage = knobs.flag("stage_local", true);
        // Local memory pays where threads share operands through it (a GPU); on a CPU device,
        // whose vectors are wide, the caches already do and the copies only cost.
        boolean shared = knobs.flag("stage_shared", gpu.vectorWidth() <= 4);
        if (!tiled) return false;
        // A thread's columns stay inside one panel of packed B: the tile and its threads divide the panel.
        tn = Math.min(tn, Long.highestOneBit(Math.min(panel, Long.MAX_VALUE / 2)));
        thn = Math.max(1, Math.min(thn, Long.highestOneBit(Math.min(panel, Long.MAX_VALUE / 2)) / tn));
        vec = Math.min(vec, tn);

        List<String> batch = packed ? List.of() : sp.subList(0, rank - 2);
        String i = sp.get(packed ? 0 : rank - 2);
        String j = sp.get(rank - 1);
        String[] io = s.split(i, tm * thm), it = s.split(io[1], tm);
        String[] jo = s.split(j, tn * thn), jt = s.split(jo[1], tn);
        String red = r.axes().getFirst().name();
        String ko = red, ki = null;
        if (kb < kExtent) {
            String[] x = s.split(red, kb);
            ko = x[0];
            ki = x[1];
        }
        String jBlock = packed ? sp.get(1) : jo[0];
        List<String> order = new ArrayList<>(batch);
        order.add(io[0]);
        if (packed) order.add(jBlock);
        order.addAll(List.of(jo[0], it[0], jt[0], ko));
        if (ki != null) order.add(ki);
        order.addAll(List.of(it[1], jt[1]));
        s.reorder(order.toArray(String[]::new));
        if (packed) jBlock = s.fuse(jBlock, jo[0]); // every column tile of every panel on x
        String rows = io[0];
        for (String b : batch.reversed()) rows = s.fuse(b, rows);
        s.bind(rows, ForKind.GPU_BLOCK_Y);
        s.bind(jBlock, ForKind.GPU_BLOCK_X);
        s.bind(it[0], ForKind.GPU_THREAD_Y);
        s.bind(jt[0], ForKind.GPU_THREAD_X);
        // Vectors need whole tiles: a guarded tile (shape not a multiple) stays scalar.
        boolean exact = m % (tm * thm) == 0 && (packed ? panel : n) % (tn * thn) == 0;
        String cols = jt[1];
        if (vec > 1 && exact) {
            String[] v = s.split(cols, vec);
            s.unroll(v[0]);
            s.vectorize(v[1]);
        } else if (tn > 1) {
            s.unroll(cols);
        }
        if (tm > 1) s.unroll(it[1]);
        s.decomposeReduction(k.name(), ko);
        // Accumulators in registers only for whole tiles: a guarded tile's cache box (a range of a
        // flat layout when the row length breaks the strides apart) reaches into its neighbours'
        // elements, and copying it back would race with them. A guarded tile accumulates in C.
        if (exact) {
            String acc = s.cacheWrite(k.name(), jt[0], MemoryScope.REGISTER);
            if (vec > 1) for (String copy : List.of(acc + ".in", acc + ".out")) vectorizeCopy(s, copy, vec);
        }
        // Tiles of A and B for each k block in local memory, loaded by the block's threads together.
        long tileBytes = (tm * thm + Math.min(tn * thn, packed ? panel : n)) * kb * k.dtype().bytes();
        boolean useShared = shared && ki != null && tileBytes <= gpu.sharedMemoryBytes();
        for (String operand : operands(r)) {
            String source = useShared ? s.cacheRead(operand, ko, MemoryScope.SHARED) : operand;
            if (stage) {
                String local = s.cacheRead(source, ki != null ? ki : ko, MemoryScope.REGISTER);
                if (vec > 1 && exact) vectorizeCopy(s, local, vec);
            }
        }
        return true;
    }

    /**
     * The copy nest {@code prefix.d0 ..} of a cache: its innermost loop split into vectors of
     * {@code vec} lanes when its extent is a multiple, the rest unrolled, so the copy reads and
     * writes the register tile as whole vectors, like the loops it serves.
     */
    private static void vectorizeCopy(Schedule s, String prefix, long vec) {
        List<String> dims = new ArrayList<>();
        for (int d = 0; s.loops().contains(prefix + ".d" + d); d++) dims.add(prefix + ".d" + d);
        if (dims.isEmpty()) return;
        String last = dims.getLast();
        long extent = s.extent(last);
        for (String d : dims.subList(0, dims.size() - 1)) if (s.extent(d) > 1) s.unroll(d);
        if (extent % vec == 0 && extent > 1) {
            String[] v = s.split(last, vec);
            s.unroll(v[0]);
            s.vectorize(v[1]);
        } else if (extent > 1) {
            s.unroll(last);
        }
    }

    /** The largest choice at most {@code limit} (the smallest choice when none is). */
    private static long largestAtMost(List<Long> choices, long limit) {
        long t = choices.getFirst();
        for (long x : choices) if (x <= limit) t = x;
        return t;
    }

    /**
     * Threads (rows, columns) of a block: enough to cover the matrix with the tiles, at most
     * {@code side} each, halved (columns first) while the grid has fewer than four blocks per
     * compute unit, so every unit gets work, but not below one warp (sub-group) per block.
     */
    private static long[] defaultThreads(long batches, long m, long n, long tm, long tn, long side, long units, long warp) {
        long thm = cover(m, tm, side), thn = cover(n, tn, side);
        while (batches * Math.ceilDiv(m, tm * thm) * Math.ceilDiv(n, tn * thn) < 4 * units && thm * thn / 2 >= Math.max(1, warp)) {
            if (thn >= thm && thn > 1) thn /= 2;
            else thm /= 2;
        }
        return new long[] {thm, thn};
    }

    /** Threads along a dimension: enough to cover it with tiles of {@code tile}, at most {@code side}. */
    private static long cover(long extent, long tile, long side) {
        long want = Math.ceilDiv(extent, tile);
        long t = 1;
        while (t * 2 <= side && t < want) t *= 2;
        return t;
    }

    /** The kernel inputs the product reads, in order (A, then B): each is cached per k step. */
    private static List<String> operands(Expr.Reduce r) {
        Set<String> names = new LinkedHashSet<>();
        visitReads(r.source(), t -> {
            if (t.tensor() instanceof Placeholder p) names.add(p.name());
        });
        return List.copyOf(names);
    }

    private static void visitReads(Expr e, java.util.function.Consumer<Expr.TensorRead> f) {
        if (e instanceof Expr.TensorRead t) f.accept(t);
        Children.forEach(e, c -> visitReads(c, f));
    }
}
