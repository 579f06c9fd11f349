package dev.kiln.schedules.gpu;

import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.transform.Children;
import dev.kiln.schedules.Schedule;
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
 * {@code (batch*i.o [blockIdx.y], j.o [blockIdx.x], i.t [threadIdx.y], j.t [threadIdx.x], k.o, k.i, i.r, j.r)}.
 *
 * <p>Knobs: {@code tiled} (off: the generic template and its knob {@code threads}), {@code tile_m},
 * {@code tile_n}, {@code threads_m}, {@code threads_n}, {@code k_block}, and {@code stage_local}:
 * whether each k step first loads the thread's {@code tile_m} values of A and {@code tile_n} of B
 * into registers (one load per value instead of one per product). Every value is correct: tiles
 * that do not divide the shape are guarded.
 *
 * <p>Not yet here: staging A and B tiles in SHARED memory with a cooperative load between
 * barriers. That needs accumulators that live across the thread loops of two phases (thread
 * loop, barrier, thread loop), which the loop IR cannot express with today's primitives.
 */
final class GpuMatMul {
    private GpuMatMul() {}

    /** Register tile sizes (per thread, per dimension). */
    static final List<Long> TILES = List.of(1L, 2L, 4L, 8L);

    /** k-block lengths, powers of two up to this. */
    static final long MAX_K_BLOCK = 32;

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
        long n = packed ? k.shape().get(1) * k.shape().get(2) : k.shape().get(rank - 1);
        long kExtent = r.extents().getFirst();
        long side = Long.highestOneBit((long) Math.sqrt(Math.min(GpuSchedules.MAX_THREADS, gpu.maxThreadsPerBlock())));
        List<Long> threadChoices = GpuSchedules.powersOfTwo(1, side);

        boolean tiled = knobs.flag("tiled", m > 1 && n > 1);
        long tm = knobs.choose("tile_m", TILES, defaultTile(m));
        long tn = knobs.choose("tile_n", TILES, defaultTile(n));
        long thm = knobs.choose("threads_m", threadChoices, defaultThreads(m, defaultTile(m), side));
        long thn = knobs.choose("threads_n", threadChoices, defaultThreads(n, defaultTile(n), side));
        List<Long> kBlocks = GpuSchedules.powersOfTwo(1, Math.min(MAX_K_BLOCK, Long.highestOneBit(kExtent)));
        long kb = knobs.choose("k_block", kBlocks, kBlocks.getLast() >= 8 ? 8 : kBlocks.getLast());
        boolean stage = knobs.flag("stage_local", true);
        if (!tiled) return false;

        List<String> batch = packed ? List.of() : sp.subList(0, rank - 2);
        String i = sp.get(packed ? 0 : rank - 2);
        String j = packed ? s.fuse(sp.get(1), sp.get(2)) : sp.get(rank - 1);
        String[] io = s.split(i, tm * thm), it = s.split(io[1], tm);
        String[] jo = s.split(j, tn * thn), jt = s.split(jo[1], tn);
        String red = r.axes().getFirst().name();
        String ko = red, ki = null;
        if (kb < kExtent) {
            String[] x = s.split(red, kb);
            ko = x[0];
            ki = x[1];
        }
        List<String> order = new ArrayList<>(batch);
        order.addAll(List.of(io[0], jo[0], it[0], jt[0], ko));
        if (ki != null) order.add(ki);
        order.addAll(List.of(it[1], jt[1]));
        s.reorder(order.toArray(String[]::new));
        String rows = io[0];
        for (String b : batch.reversed()) rows = s.fuse(b, rows);
        s.bind(rows, ForKind.GPU_BLOCK_Y);
        s.bind(jo[0], ForKind.GPU_BLOCK_X);
        s.bind(it[0], ForKind.GPU_THREAD_Y);
        s.bind(jt[0], ForKind.GPU_THREAD_X);
        s.decomposeReduction(k.name(), ko);
        s.cacheWrite(k.name(), jt[0], MemoryScope.REGISTER);
        if (stage)
            for (String operand : operands(r))
                s.cacheRead(operand, ki != null ? ki : ko, MemoryScope.REGISTER);
        return true;
    }

    /** The largest register tile whose threads still have work: at most 4, no more than the extent. */
    private static long defaultTile(long extent) {
        long t = 1;
        for (long x : TILES) if (x <= 4 && x <= extent) t = x;
        return t;
    }

    /** Threads along a dimension: enough to cover it with tiles of {@code tile}, at most {@code side}. */
    private static long defaultThreads(long extent, long tile, long side) {
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
