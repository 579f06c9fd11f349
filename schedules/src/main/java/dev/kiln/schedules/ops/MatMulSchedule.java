package dev.kiln.schedules.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Compute;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.List;

/**
 * The matmul templates: a register-blocked micro-kernel. A tile of {@code rows x vecs} output
 * vectors stays in registers while k runs: per k step, {@code vecs} vector loads of B, one
 * broadcast of A per row, and {@code rows * vecs} FMAs, with no load or store of C.
 *
 * <p>Loop order, unpacked ({@link Template#MATMUL}, B any tensor):
 * {@code (batch..., i.o, j.o, k, i.i [unrolled], j.i [vectorized])}, batch and i.o parallel.
 * Packed ({@link Template#MATMUL_PACKED}, B a weight re-laid out at compile time into panels
 * {@code [N/P][K][P]}): {@code (jo, k.o, i.o, ji.o, k.i, i.i, ji.i)}, jo parallel: a k-block of
 * one panel of B (contiguous) stays in L1 while every row block of A runs over it.
 *
 * <p>Knobs (in the compute's scope; each default is the heuristic below, and every value keeps
 * the kernel correct: blocks divide their extent):
 * <ul>
 *   <li>{@code row_block}: output rows of the register tile, among {@link #ROW_BLOCKS} dividing M.
 *   <li>{@code vector_block}: vectors per tile row, among {@link #VECTOR_BLOCKS} whose columns
 *       divide N (the panel when packed); unpacked with N no multiple of the register width,
 *       {@code vector} instead: the chunk of N vectorized (as for injective nests).
 *   <li>{@code unroll} (when M has a row block above 1): whether the tile's rows are unrolled.
 *   <li>{@code loop_order} (unpacked, when N splits into several column blocks):
 *       {@code rows-outer} {@code (i.o, j.o, k)} or {@code cols-outer} {@code (j.o, i.o, k)}.
 *   <li>{@code k_block} (packed): the k-block length, the distinct {@link #kBlock} results for L1
 *       budgets of 4 to 64 KiB and K itself; {@code k_order} (when K can be split): where the
 *       k-blocks run, {@code panels-outer}, {@code k-blocks-outer} or {@code k-blocks-per-core}
 *       (this one only when the panels split evenly over the cores).
 *   <li>{@code parallel} (targets with several cores): whether the outer loop runs in parallel.
 * </ul>
 * The panel width is not a knob: packing is decided with the compute ({@link MatMul}).
 */
public final class MatMulSchedule {
    private MatMulSchedule() {}

    /** Output rows per register tile, best first: each must divide M (no guarded tails). */
    static final long[] ROW_BLOCKS = {8, 6, 4, 3, 2, 1};

    /** Output vectors per row of the register tile, best first. */
    static final long[] VECTOR_BLOCKS = {4, 2, 1};

    /**
     * Vectors per tile row on 128-bit targets (NEON): 3 as well, since four 4-lane vectors by 8
     * rows would need 32 accumulators, while 8x3 keeps 24 of the 32 registers accumulating with
     * the 3 B vectors and 2 registers of A (lane-indexed FMA) beside them.
     */
    static final long[] NARROW_VECTOR_BLOCKS = {4, 3, 2, 1};

    /** Panel widths on 128-bit targets: 48 first, so an 8x3 tile of 4-lane vectors fits a panel. */
    static final long[] NARROW_PANEL_WIDTHS = {48, 64, 32, 16};

    /** Panel widths of packed weights, widest first: the largest dividing N is used. */
    static final long[] PANEL_WIDTHS = {64, 32, 16};

    /**
     * Bytes of a packed B panel's k-block that should stay in L1 while every row block of A runs
     * over it: half of the target's L1D (the rest holds A's rows and C's tile on the way out).
     * Longer reductions are split into k-blocks that fit; without this B streams from L2 at the
     * full rate of the FMAs and the kernel becomes L2-bound.
     */
    static long l1BlockBytes(CpuTarget target) {
        return target.caches().l1d() / 2;
    }

    /** Outputs up to half of the target's L2 stay there across k-blocks, which then run outermost. */
    static long l2OutputBytes(CpuTarget target) {
        return target.caches().l2() / 2;
    }

    /** The share of vector registers kept free of accumulators, for the B vectors and A broadcasts of one k step. */
    static final int SPARE_REGISTER_DIVISOR = 4;

    /** The panel width for packing a weight with {@code n} columns of f32 for {@code target}, or 0 when none divides n. */
    public static long panelWidth(long n, Target target) {
        for (long p : narrow(target) ? NARROW_PANEL_WIDTHS : PANEL_WIDTHS) if (n % p == 0) return p;
        return 0;
    }

    /** Whether the target's vectors hold 4 floats or fewer (NEON), where tiles are built of more, smaller vectors. */
    private static boolean narrow(Target target) {
        return target instanceof CpuTarget cpu && cpu.vectorLanes(4) <= 4;
    }

    private static long[] vectorBlockChoices(int lanes) {
        return lanes <= 4 ? NARROW_VECTOR_BLOCKS : VECTOR_BLOCKS;
    }

    /**
     * Re-lays out B ({@code [K, N]}, or {@code [N, K]} when {@code transposed}) into panels
     * {@code [N/P][K][P]}: panel jo holds columns {@code jo*P ..} row after row.
     */
    public static Tensor pack(Tensor w, boolean transposed, long k, long n, long panel) {
        return pack(w, transposed, k, n, n, panel);
    }

    /** As above into {@code padded} columns (a multiple of the panel), the ones past {@code n} zero. */
    public static Tensor pack(Tensor w, boolean transposed, long k, long n, long padded, long panel) {
        float[] src = w.floats(), dst = new float[Math.toIntExact(k * padded)];
        int K = (int) k, N = (int) n, P = (int) panel;
        for (int jo = 0; jo < padded / P; jo++)
            for (int kk = 0; kk < K; kk++)
                for (int ji = 0; ji < P; ji++) {
                    int j = jo * P + ji;
                    if (j < N) dst[(jo * K + kk) * P + ji] = transposed ? src[j * K + kk] : src[kk * N + j];
                }
        return Tensor.of(DType.FLOAT32, Shape.of(padded / panel, k, panel), dst);
    }

    /**
     * The panel width for a weight whose {@code n} columns no panel divides, packed with zero
     * columns up to the next multiple (the product's extra columns are dropped): the widest
     * panel that pads by at most 1/32 of n, else 16; 0 for fewer than 16 columns, where the
     * padding would be most of the work.
     */
    public static long paddedPanelWidth(long n, Target target) {
        if (n < 16) return 0;
        for (long p : narrow(target) ? NARROW_PANEL_WIDTHS : PANEL_WIDTHS) if ((p - n % p) % p <= n / 32) return p;
        return 16;
    }

    /** A register tile: {@code rows} output rows by {@code vecs} vectors of {@code lanes}. */
    record Tile(long rows, long vecs, int lanes) {
        long cols() {
            return vecs * lanes;
        }
    }

    /**
     * The tile with the most FMAs per load ({@code rows*vecs / (rows+vecs)}), then the most
     * accumulators, among those whose rows divide {@code m}, whose columns divide {@code n} and
     * whose accumulators leave a quarter of the {@code registers} vector registers free (24 of 32
     * on AVX-512 and NEON, 12 of 16 on AVX2). Null when no vector divides n.
     */
    static Tile tile(long m, long n, int lanes, int registers) {
        Tile best = null;
        double bestScore = -1;
        for (long r : ROW_BLOCKS) {
            if (m % r != 0) continue;
            for (long v : vectorBlockChoices(lanes)) {
                if (n % (v * lanes) != 0 || r * v > registers - registers / SPARE_REGISTER_DIVISOR) continue;
                double score = (double) (r * v) / (r + v) + 1e-3 * r * v;
                if (score > bestScore) {
                    bestScore = score;
                    best = new Tile(r, v, lanes);
                }
            }
        }
        return best;
    }

    /** Schedules the product nest {@code k} (tagged {@code template}) and its init nest. */
    static void apply(Schedule s, Compute k, Template template, CpuTarget target) {
        apply(s, k, template, target, Knobs.defaults());
    }

    /** Schedules the product nest with the knob values {@code knobs} gives (see the class comment). */
    static void apply(Schedule s, Compute k, Template template, CpuTarget target, Knobs knobs) {
        Expr.Reduce r = (Expr.Reduce) k.body();
        DefaultSchedules.initNest(s, k, target);
        int lanes = DefaultSchedules.lanes(k, target);
        List<String> sp = k.axes().stream().map(Expr.Var::name).toList();
        List<String> red = r.axes().stream().map(Expr.Var::name).toList();
        long work = k.numel() * r.extents().stream().reduce(1L, (a, b) -> a * b);
        if (template == Template.MATMUL_PACKED) packed(s, k, sp, red, lanes, work, target, knobs);
        else unpacked(s, k, sp, red, lanes, work, target, knobs);
    }

    /** Where the k-blocks of a packed product run, relative to the panels. */
    private static final List<String> K_ORDERS = List.of("panels-outer", "k-blocks-outer", "k-blocks-per-core");

    private static void packed(Schedule s, Compute k, List<String> sp, List<String> red, int lanes, long work, CpuTarget target, Knobs knobs) {
        String i = sp.get(0), jo = sp.get(1), ji = sp.get(2);
        long m = k.shape().get(0), panel = k.shape().get(2);
        long kExtent = ((Expr.Reduce) k.body()).extents().get(0);
        long panels = k.shape().get(1);
        int cores = target.cores();
        Tile heuristic = tile(m, panel, lanes, target.vectorRegisters());
        Tile t = new Tile(knobs.choose("row_block", rowBlocks(m), heuristic.rows()),
                knobs.choose("vector_block", vectorBlocks(panel, lanes), heuristic.vecs()), lanes);
        boolean unroll = rowBlocks(m).size() > 1 && knobs.flag("unroll", true);
        long rowBytes = panel * k.dtype().bytes();
        List<Long> kBlocks = kBlocks(kExtent, rowBytes);
        long kb = knobs.choose("k_block", kBlocks, kBlock(kExtent, rowBytes, l1BlockBytes(target)));
        // A small output stays in L2 across k-blocks: run the k-blocks outermost, so A's block
        // is read once for all panels instead of once per panel (from L3 when A is big).
        boolean perCore = cores > 1 && panels % cores == 0 && panels > cores;
        int kOrder = 0;
        if (kBlocks.size() > 1) {
            int heuristicOrder = k.numel() * k.dtype().bytes() > l2OutputBytes(target) ? 0 : perCore ? 2 : 1;
            kOrder = knobs.chooseOne("k_order", K_ORDERS.subList(0, perCore ? 3 : 2), heuristicOrder);
        }
        boolean parallelKnob = DefaultSchedules.parallelKnob(knobs, work, target);
        List<String> order = new ArrayList<>(List.of(jo));
        String parallel = panels > 1 ? jo : null;
        if (kb < kExtent) {
            String[] x = s.split(red.get(0), kb);
            red = List.of(x[1]);
            if (kOrder == 0) {
                order.add(x[0]);
            } else if (kOrder == 2) {
                // One parallel region, not one per k-block: each core takes its share of the panels
                // and runs the k-blocks over them.
                String[] jx = s.split(jo, panels / cores);
                order = new ArrayList<>(List.of(jx[0], x[0], jx[1]));
                parallel = jx[0];
            } else {
                order.addFirst(x[0]);
            }
        }
        String io = i, ii = null, jv = ji;
        if (t.rows() > 1) {
            String[] x = s.split(i, t.rows());
            io = x[0];
            ii = x[1];
        }
        order.add(io);
        if (t.cols() < panel) {
            String[] x = s.split(ji, t.cols());
            order.add(x[0]);
            jv = x[1];
        }
        order.addAll(red);
        if (ii != null) order.add(ii);
        String[] vectors = registerVectors(s, jv, t, lanes);
        if (vectors[0] != null) order.add(vectors[0]);
        order.add(vectors[1]);
        s.reorder(order.toArray(String[]::new));
        s.vectorize(vectors[1]);
        if (vectors[0] != null) s.unroll(vectors[0]);
        if (ii != null && unroll) s.unroll(ii);
        // Panels in parallel: each thread streams its own panels of B; row blocks when there is one panel.
        DefaultSchedules.parallelOuter(s, List.of(parallel != null ? parallel : io), parallelKnob);
    }

    /**
     * The tile's column loop {@code jv} as {@code [vectors, lanes]}: split into one register per
     * iteration (the outer loop, unrolled) when the tile holds a number of vectors that is not a
     * power of two, since LLVM legalizes a 12-float vector lane by lane (NEON's 8x3 tile spilled
     * every accumulator); otherwise {@code [null, jv]}, one vector op over the whole row.
     */
    private static String[] registerVectors(Schedule s, String jv, Tile t, int lanes) {
        if (Long.bitCount(t.vecs()) == 1) return new String[] {null, jv};
        return s.split(jv, lanes);
    }

    private static void unpacked(Schedule s, Compute k, List<String> sp, List<String> red, int lanes, long work, CpuTarget target, Knobs knobs) {
        int rank = sp.size();
        String i = sp.get(rank - 2), j = sp.get(rank - 1);
        long m = k.shape().get(rank - 2), n = k.shape().get(rank - 1);
        Tile heuristic = n % lanes == 0 ? tile(m, n, lanes, target.vectorRegisters()) : null;
        long rows = knobs.choose("row_block", rowBlocks(m), heuristic != null ? heuristic.rows() : fallbackRows(m));
        Tile t = null;
        long chunk = 0;
        if (heuristic != null) {
            t = new Tile(rows, knobs.choose("vector_block", vectorBlocks(n, lanes), heuristic.vecs()), lanes);
        } else if (n > 1) {
            long h = DefaultSchedules.defaultChunk(n, lanes, Math.min(lanes * 2L, DefaultSchedules.MAX_VECTOR));
            chunk = knobs.choose("vector", DefaultSchedules.chunkChoices(n, lanes, h), h);
        }
        boolean unroll = rowBlocks(m).size() > 1 && knobs.flag("unroll", true);
        boolean colsOuter = (heuristic != null ? n > lanes : n > 1) && knobs.chooseOne("loop_order", List.of("rows-outer", "cols-outer"), 0) == 1;
        boolean parallel = DefaultSchedules.parallelKnob(knobs, work, target);
        List<String> order = new ArrayList<>(sp.subList(0, rank - 2));
        String io = i, ii = null, jo = null, ji = j;
        if (rows > 1) {
            String[] x = s.split(i, rows);
            io = x[0];
            ii = x[1];
        }
        String jr = null;
        if (t != null && t.cols() < n) {
            String[] x = s.split(j, t.cols());
            jo = x[0];
            String[] v = registerVectors(s, x[1], t, lanes);
            jr = v[0];
            ji = v[1];
            s.vectorize(ji);
        } else if (t != null) {
            String[] v = registerVectors(s, j, t, lanes);
            jr = v[0];
            ji = v[1];
            s.vectorize(ji);
        } else if (n > 1) {
            String[] x = DefaultSchedules.vectorize(s, j, n, chunk);
            jo = x[0];
            ji = x[1];
        }
        boolean swap = colsOuter && jo != null;
        order.add(swap ? jo : io);
        if (jo != null) order.add(swap ? io : jo);
        order.addAll(red);
        if (ii != null) order.add(ii);
        if (jr != null) order.add(jr);
        if (ji != null) order.add(ji);
        s.reorder(order.toArray(String[]::new));
        if (jr != null) s.unroll(jr);
        if (ii != null && unroll) s.unroll(ii);
        List<String> outer = new ArrayList<>(sp.subList(0, rank - 2));
        outer.add(swap ? jo : io);
        DefaultSchedules.parallelOuter(s, outer, parallel);
    }

    /** The row blocks that divide m, ascending. */
    static List<Long> rowBlocks(long m) {
        List<Long> r = new ArrayList<>();
        for (int x = ROW_BLOCKS.length - 1; x >= 0; x--) if (m % ROW_BLOCKS[x] == 0) r.add(ROW_BLOCKS[x]);
        return r;
    }

    /** The vector blocks whose columns divide n, ascending (n a multiple of lanes, so 1 is always one). */
    static List<Long> vectorBlocks(long n, int lanes) {
        List<Long> r = new ArrayList<>();
        long[] blocks = vectorBlockChoices(lanes);
        for (int x = blocks.length - 1; x >= 0; x--) if (n % (blocks[x] * lanes) == 0) r.add(blocks[x]);
        return r;
    }

    /** The distinct k-blocks {@link #kBlock} gives for L1 budgets of 4 to 64 KiB, and k itself, ascending. */
    static List<Long> kBlocks(long k, long rowBytes) {
        java.util.TreeSet<Long> r = new java.util.TreeSet<>(List.of(k));
        for (long bytes = 4 * 1024; bytes <= 64 * 1024; bytes *= 2) r.add(kBlock(k, rowBytes, bytes));
        return List.copyOf(r);
    }

    /** The largest divisor of {@code k} whose rows of {@code rowBytes} fit {@code l1Bytes} (at least 8 when k has one). */
    static long kBlock(long k, long rowBytes, long l1Bytes) {
        long max = Math.max(8, l1Bytes / rowBytes);
        if (k <= max) return k;
        for (long d = max; d >= 8; d--) if (k % d == 0) return d;
        return k;
    }

    /** Rows per register block when the columns do not split into whole vectors. */
    private static long fallbackRows(long m) {
        return m % 4 == 0 ? 4 : m % 3 == 0 ? 3 : m % 2 == 0 ? 2 : 1;
    }
}
