package dev.kiln.schedules.gpu;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Compute;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.ops.OpCompute;
import dev.kiln.schedules.ops.Template;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.GpuTarget;
import java.util.ArrayList;
import java.util.List;

/**
 * Register tiles for a reduction and its elementwise epilogue in one kernel: a conv (plain NCHW,
 * depthwise included, or the packed {@code [c/16, spatial, 16]} form) or a matmul (packed B or
 * not) followed by bias, activation, skip add or GELU. Each thread computes a tile of the output:
 * the reduction is computed at the thread's innermost loop ({@link Schedule#computeAt}) into a
 * tile-sized private buffer ({@link Schedule#localize}), reduce loops outside and the tile's loops
 * inside (unrolled, and the loop the accumulator is contiguous in made vectors: the lanes of a
 * block or panel, or a plain conv's columns), so every value loaded feeds a row or column of
 * products; the epilogue then finishes the tile from registers and stores it. The generic
 * template instead computes one output per thread with its accumulator in memory.
 *
 * <p>On a GPU a conv reads its input through the padding directly (Conv builds no padded copy for
 * GPU targets); another intermediate is kept privately when small enough, else in its global buffer.
 *
 * <p>Knobs, conv: {@code conv_tiled} (off: the generic template), {@code tile_c} (output channels),
 * {@code tile_w} (columns); matmul: {@code epilogue_tiled}, {@code tile_m} (rows), {@code tile_n}
 * (columns); both use the generic {@code threads} (work-group size; by default small enough that
 * every compute unit gets four work-groups). Tiles that do not divide the shape are guarded (and
 * not vectorized); a plan whose private tile would exceed {@link #MAX_TILE_BYTES} falls back to
 * the generic template.
 */
final class GpuEpilogue {
    private GpuEpilogue() {}

    static final List<Long> TILES_C = List.of(1L, 2L, 4L, 8L, 16L);
    static final List<Long> TILES_W = List.of(1L, 2L, 4L, 7L, 8L, 14L, 16L);
    static final List<Long> TILES_M = List.of(1L, 2L, 4L, 8L);
    static final List<Long> TILES_N = List.of(1L, 2L, 4L, 8L, 16L, 32L, 64L);

    /** Lane counts OpenCL has vector types for (3 aside). */
    static final List<Long> VECTORS = List.of(2L, 4L, 8L, 16L);

    /** Channel block of the packed pointwise conv's accumulator ({@code [c/16, hw, 16]}). */
    static final long BLOCK = 16;

    /** The private memory one thread's tiles may take (OpenCL guarantees 16 KiB; registers hold far less). */
    static final long MAX_TILE_BYTES = 8 * 1024;

    /**
     * How an epilogue's output is tiled: {@code laneAxis} is the axis the accumulator is
     * contiguous in (its tile becomes vectors), {@code otherAxis} the second tiled axis, and
     * {@code block} the length of the blocks or panels the lane axis is packed in (0: none).
     */
    record Tiling(int laneAxis, int otherAxis, long laneTile, long otherTile, long block) {}

    /**
     * Schedules {@code s} if {@code c} is a conv or a matmul whose epilogue is the only output;
     * false, having scheduled nothing, otherwise or when the config turns the template off.
     */
    static boolean apply(Schedule s, OpCompute c, GpuTarget gpu, Knobs knobs, List<Compute> intermediates, GpuSchedules.Threads threadsFor) {
        if (c.outputs().size() != 1) return false;
        Compute out = c.outputs().getFirst();
        Compute acc = null;
        for (Compute k : intermediates) {
            // A copy written as a reduction over one element (a materialized padded input) is no reduction.
            boolean reduces = k.body() instanceof Expr.Reduce r && r.extents().stream().anyMatch(e -> e > 1);
            if (!reduces) continue;
            if (acc != null) return false;
            acc = k;
        }
        int rank = out.shape().size();
        if (acc == null || rank < 2 || out.body() instanceof Expr.Reduce) return false;
        Template t = c.templateOf(acc);
        Tiling tiling;
        if ((t == Template.CONV || t == Template.CONV_NCHWC) && rank >= 3) {
            long channels = out.shape().get(1), width = out.shape().getLast();
            boolean tiled = knobs.flag("conv_tiled", true);
            // The packed pointwise conv accumulates [c/16, hw, 16]: a tile takes a whole block of 16.
            boolean blocked = acc.shape().getLast() == BLOCK && acc.numel() == Math.ceilDiv(channels, BLOCK) * BLOCK * (out.numel() / channels);
            // A plain conv's private tiles keep the output's strides (localize does not compact
            // them), so a tile of several channels spans whole planes: one channel by default (a
            // depthwise conv has no reuse across channels anyway).
            long tc = knobs.choose("tile_c", TILES_C, blocked ? BLOCK : 1);
            // Columns: the largest divisor of the row up to 8 (vectors when a power of two). On PoCL
            // a depthwise 3x3 conv on 28 columns ran 4.6x faster in tiles of 7 unrolled scalars
            // than of a float4, whose taps are unaligned loads.
            long tw = knobs.choose("tile_w", TILES_W, largestDividing(TILES_W, width, 8));
            if (!tiled) return false;
            tiling = blocked ? new Tiling(1, rank - 1, tc, tw, BLOCK) : new Tiling(rank - 1, 1, tw, tc, 0);
        } else if (t == Template.MATMUL || t == Template.MATMUL_PACKED) {
            boolean packed = t == Template.MATMUL_PACKED;
            List<Long> a = acc.shape(), o = out.shape();
            int ar = a.size();
            long panel = packed ? a.getLast() : 0;
            int rowAxis;
            long block;
            if (packed && rank >= 3 && ar >= 3 && o.get(rank - 1).equals(a.get(ar - 1)) && o.get(rank - 2).equals(a.get(ar - 2))
                    && o.get(rank - 3).equals(a.get(ar - 3))) {
                rowAxis = rank - 3; // the output viewed as panels too: rows, panels, lanes
                block = 0;
            } else if (!packed || o.getLast() == panel * a.get(ar - 2)) {
                rowAxis = rank - 2;
                block = panel;
            } else {
                return false;
            }
            long rows = o.get(rowAxis), cols = packed ? panel : o.getLast();
            long w = Math.max(1, Math.min(16, Long.highestOneBit(gpu.vectorWidth())));
            boolean tiled = knobs.flag("epilogue_tiled", true);
            long tm = knobs.choose("tile_m", TILES_M, largestAtMost(TILES_M, Math.min(8, rows)));
            long tn = knobs.choose("tile_n", TILES_N, largestAtMost(TILES_N, Math.min(Math.max(4, 2 * w), cols)));
            if (!tiled) return false;
            tiling = new Tiling(rank - 1, rowAxis, tn, tm, block);
        } else {
            return false;
        }
        tile(s, out, acc, intermediates, tiling, threadsFor);
        return true;
    }

    /** The tiled plan (see the class comment); throws IllegalArgumentException where a primitive refuses. */
    private static void tile(Schedule s, Compute out, Compute acc, List<Compute> intermediates, Tiling t, GpuSchedules.Threads threadsFor) {
        List<String> ep = GpuSchedules.names(out.axes());
        long laneExtent = out.shape().get(t.laneAxis()), otherExtent = out.shape().get(t.otherAxis());
        // The lane axis first in its blocks, so the tile's index inside a block stays affine:
        // (b*16 + t*tile + i) / 16 is b.
        String lane = ep.get(t.laneAxis()), laneBlock = null;
        if (t.block() > 0 && laneExtent % t.block() == 0 && t.laneTile() < t.block() && laneExtent > t.block()) {
            String[] b = s.split(lane, t.block());
            laneBlock = b[0];
            lane = b[1];
        }
        // A tile of a whole axis gets no loop of one iteration (its variable would show in some
        // indices of the accumulator and not in others, and localize needs one base).
        long laneLen = laneBlock != null ? t.block() : laneExtent;
        String[] lo = laneLen <= t.laneTile() ? new String[] {null, lane} : s.split(lane, t.laneTile());
        String[] oo = otherExtent <= t.otherTile() ? new String[] {null, ep.get(t.otherAxis())} : s.split(ep.get(t.otherAxis()), t.otherTile());
        List<String> order = new ArrayList<>();
        for (int d = 0; d < ep.size(); d++) {
            if (d == t.laneAxis()) {
                if (laneBlock != null) order.add(laneBlock);
                if (lo[0] != null) order.add(lo[0]);
            } else if (d == t.otherAxis()) {
                if (oo[0] != null) order.add(oo[0]);
            } else {
                order.add(ep.get(d));
            }
        }
        if (order.isEmpty()) throw new IllegalArgumentException("one tile covers the whole output: nothing to share out");
        int outer = order.size();
        order.add(oo[1]);
        order.add(lo[1]);
        s.reorder(order.toArray(String[]::new));
        // Placed at the innermost of the thread's loops, before fusing them: the accumulator's
        // indices stay affine in each of them (a fused index would need div and mod).
        String at = order.get(outer - 1);
        boolean exact = laneExtent % t.laneTile() == 0 && otherExtent % t.otherTile() == 0;
        if (s.extent(oo[1]) > 1) s.unroll(oo[1]);
        lanes(s, lo[1], exact);
        long units = out.numel() / (laneExtent * otherExtent) * Math.ceilDiv(laneExtent, t.laneTile()) * Math.ceilDiv(otherExtent, t.otherTile());
        for (Compute k : intermediates) s.computeAt(k.name(), at);
        Expr.Reduce r = (Expr.Reduce) acc.body();
        List<String> sp = GpuSchedules.names(acc.axes()), red = GpuSchedules.names(r.axes());
        List<String> accOrder = new ArrayList<>(red);
        accOrder.addAll(sp);
        s.reorder(accOrder.toArray(String[]::new));
        for (String l : sp.subList(0, sp.size() - 1)) if (s.extent(l) > 1) s.unroll(l);
        lanes(s, sp.getLast(), exact);
        s.decomposeReduction(acc.name(), red.getFirst());
        for (Compute k : intermediates) if (k != acc) GpuSchedules.attempt(s, x -> GpuSchedules.decompose(x, k));
        s.localize(acc.name(), at);
        checkTile(s, acc.name());
        // Another intermediate the tile reads is kept privately too where its indices allow and
        // it is small; else it stays in its global buffer.
        for (Compute k : intermediates)
            if (k != acc) GpuSchedules.attempt(s, x -> {
                x.localize(k.name(), at);
                checkTile(x, k.name());
            });
        String thread = order.getFirst();
        for (String l : order.subList(1, outer)) thread = s.fuse(thread, l);
        GpuSchedules.bindAll(s, List.of(new GpuSchedules.Nest(List.of(thread), units)), threadsFor.get(units, true));
    }

    /**
     * The tile's contiguous loop as vectors: whole when its length is a vector width, else split
     * into the widest vectors that divide it (unrolled); unrolled scalars when none does or the
     * tile is guarded.
     */
    private static void lanes(Schedule s, String loop, boolean exact) {
        long n = s.extent(loop);
        long v = exact ? largestDividing(VECTORS, n, 16) : 1;
        if (v < 2) {
            if (n > 1) s.unroll(loop);
        } else if (v == n) {
            s.vectorize(loop);
        } else {
            String[] x = s.split(loop, v);
            s.unroll(x[0]);
            s.vectorize(x[1]);
        }
    }

    /** Refuses (IllegalArgumentException) a localized buffer larger than {@link #MAX_TILE_BYTES}. */
    private static void checkTile(Schedule s, String buffer) {
        for (var a : allocations(s.func().body()))
            if ((a.name().equals(buffer) || a.name().equals(buffer + ".local")) && a.size() * a.dtype().bytes() > MAX_TILE_BYTES)
                throw new IllegalArgumentException("the tile's " + a.name() + " takes " + a.size() * a.dtype().bytes()
                        + " bytes, more than a thread keeps (" + MAX_TILE_BYTES + ")");
    }

    private static List<dev.kiln.irlow.Buffer> allocations(dev.kiln.irlow.stmt.Stmt body) {
        List<dev.kiln.irlow.Buffer> out = new ArrayList<>();
        dev.kiln.irlow.transform.Vars.anyStmt(body, x -> {
            if (x instanceof dev.kiln.irlow.stmt.Stmt.Allocate a) out.add(a.buffer());
            return false;
        });
        return out;
    }

    /** The largest choice at most {@code limit} that divides {@code extent} (1 always does). */
    private static long largestDividing(List<Long> choices, long extent, long limit) {
        long t = 1;
        for (long x : choices) if (x <= limit && extent % x == 0) t = x;
        return t;
    }

    /** The largest choice at most {@code limit} (the smallest choice when none is). */
    private static long largestAtMost(List<Long> choices, long limit) {
        long t = choices.getFirst();
        for (long x : choices) if (x <= limit) t = x;
        return t;
    }
}
