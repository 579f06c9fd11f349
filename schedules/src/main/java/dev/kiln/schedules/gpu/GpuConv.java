package dev.kiln.schedules.gpu;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.te.Compute;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.ops.OpCompute;
import dev.kiln.schedules.ops.Template;
import dev.kiln.schedules.space.Knobs;
import java.util.ArrayList;
import java.util.List;

/**
 * The register-tiled GPU convolution: a conv reduction (plain NCHW, depthwise included, or the
 * packed {@code [c/16, spatial, 16]} form) and its elementwise epilogue (bias, activation, skip
 * add) in one kernel. Each thread computes a tile of {@code tile_c} output channels x
 * {@code tile_w} output columns: the conv is computed at the thread's innermost loop
 * ({@link Schedule#computeAt}) into a tile-sized private buffer ({@link Schedule#localize}),
 * reduce loops outside and the tile's loops inside (unrolled, and the loop the accumulator is
 * contiguous in vectorized: the 16 lanes of a block, or a plain conv's columns when a power of
 * two), so every input value loaded feeds {@code tile_c} products and every weight
 * {@code tile_w}; the epilogue then finishes the tile from registers and stores it. On a GPU the
 * conv reads its input through the padding directly (Conv builds no padded copy for GPU
 * targets); another intermediate is kept privately when small enough, else in its global buffer.
 * The generic template instead computes one output per thread with the accumulator in memory.
 *
 * <p>Knobs: {@code conv_tiled} (off: the generic template), {@code tile_c}, {@code tile_w}, and the
 * generic {@code threads} (work-group size; by default small enough that every compute unit gets
 * four work-groups). Tiles that do not divide the shape are guarded (and not vectorized); a plan
 * whose private tile would exceed {@link #MAX_TILE_BYTES} falls back to the generic template.
 */
final class GpuConv {
    private GpuConv() {}

    static final List<Long> TILES_C = List.of(1L, 2L, 4L, 8L, 16L);
    /** Lane counts OpenCL has vector types for (3 aside). */
    static final List<Long> VECTORS = List.of(2L, 4L, 8L, 16L);

    /** Channel block of the packed pointwise conv's accumulator ({@code [c/16, hw, 16]}). */
    static final long BLOCK = 16;

    static final List<Long> TILES_W = List.of(1L, 2L, 4L, 7L, 8L, 14L, 16L);

    /**
     * Schedules {@code s} if {@code c} is a conv with its epilogue as the only output; false,
     * having scheduled nothing, otherwise or when the config turns the template off.
     */
    static boolean apply(Schedule s, OpCompute c, Knobs knobs, List<Compute> intermediates, GpuSchedules.Threads threadsFor) {
        if (c.outputs().size() != 1) return false;
        Compute out = c.outputs().getFirst();
        Compute conv = null;
        for (Compute k : intermediates) {
            Template t = c.templateOf(k);
            // A copy written as a reduction over one element (a materialized padded input) is no reduction.
            boolean reduces = k.body() instanceof Expr.Reduce r && r.extents().stream().anyMatch(e -> e > 1);
            if (reduces && (t == Template.CONV || t == Template.CONV_NCHWC)) {
                if (conv != null) return false;
                conv = k;
            } else if (reduces) {
                return false;
            }
        }
        int rank = out.shape().size();
        if (conv == null || rank < 3 || out.body() instanceof Expr.Reduce) return false;
        long channels = out.shape().get(1), width = out.shape().getLast();
        boolean tiled = knobs.flag("conv_tiled", true);
        // The packed pointwise conv accumulates [c/16, hw, 16]: a tile takes a whole block of 16.
        boolean blocked = conv.shape().getLast() == BLOCK && conv.numel() == Math.ceilDiv(channels, BLOCK) * BLOCK * (out.numel() / channels);
        // A plain conv's private tiles keep the output's strides (localize does not compact them),
        // so a tile of several channels spans whole planes: one channel by default (a depthwise
        // conv has no reuse across channels anyway).
        long tc = knobs.choose("tile_c", TILES_C, blocked ? BLOCK : 1);
        // A plain (depthwise) conv's columns are its vector lanes: a power of two where one divides the row.
        long pow2 = largestDividing(List.of(1L, 2L, 4L, 8L), width, 8);
        long tw = knobs.choose("tile_w", TILES_W, !blocked && pow2 >= 4 ? pow2 : largestDividing(TILES_W, width, 8));
        if (!tiled) return false;
        List<String> ep = GpuSchedules.names(out.axes());
        // Channels first in blocks of 16 (the packed pointwise conv's lane block), so the tile's
        // channel index inside the block stays affine: (c.o*16 + t*tile_c + i) / 16 is c.o.
        String channelAxis = ep.get(1), channelBlock = null;
        if (channels % BLOCK == 0 && tc < BLOCK) {
            String[] b = s.split(channelAxis, BLOCK);
            channelBlock = b[0];
            channelAxis = b[1];
        }
        // One tile of all the channels: no loop of one iteration (its variable would show in some
        // indices of the accumulator and not in others, and localize needs one base).
        String[] co = channels <= tc ? new String[] {null, channelAxis} : s.split(channelAxis, tc);
        String[] wo = s.split(ep.getLast(), tw);
        List<String> order = new ArrayList<>(List.of(ep.getFirst()));
        if (channelBlock != null) order.add(channelBlock);
        if (co[0] != null) order.add(co[0]);
        order.addAll(ep.subList(2, rank - 1));
        order.add(wo[0]);
        // The innermost loop is the one the conv's accumulator is contiguous in: the 16 lanes of
        // a block for the packed form, the columns for the plain one; it becomes vectors.
        String lanes = blocked ? co[1] : wo[1], other = blocked ? wo[1] : co[1];
        order.add(other);
        order.add(lanes);
        s.reorder(order.toArray(String[]::new));
        int outer = order.size() - 2;
        // Placed at the innermost of the thread's loops, before fusing them: the conv's indices
        // stay affine in each of them (a fused index would need div and mod).
        String at = order.get(outer - 1);
        boolean exact = channels % tc == 0 && width % tw == 0;
        if (s.extent(other) > 1) s.unroll(other);
        if (exact && VECTORS.contains(s.extent(lanes))) s.vectorize(lanes);
        else if (s.extent(lanes) > 1) s.unroll(lanes);
        long units = out.numel() / (channels * width) * Math.ceilDiv(channels, tc) * Math.ceilDiv(width, tw);
        for (Compute k : intermediates) s.computeAt(k.name(), at);
        Expr.Reduce r = (Expr.Reduce) conv.body();
        List<String> sp = GpuSchedules.names(conv.axes()), red = GpuSchedules.names(r.axes());
        List<String> convOrder = new ArrayList<>(red);
        convOrder.addAll(sp);
        s.reorder(convOrder.toArray(String[]::new));
        for (String l : sp.subList(0, sp.size() - 1)) if (s.extent(l) > 1) s.unroll(l);
        if (exact && VECTORS.contains(s.extent(sp.getLast()))) s.vectorize(sp.getLast());
        else if (s.extent(sp.getLast()) > 1) s.unroll(sp.getLast());
        s.decomposeReduction(conv.name(), red.getFirst());
        for (Compute k : intermediates) if (k != conv) GpuSchedules.attempt(s, x -> GpuSchedules.decompose(x, k));
        s.localize(conv.name(), at);
        checkTile(s, conv.name());
        // A padded input the tile reads is kept privately too where its indices allow and its
        // window is small (a strided conv's phase split is not affine; its window then goes to the
        // global copy, each thread writing the same values there as its neighbours).
        for (Compute k : intermediates)
            if (k != conv) GpuSchedules.attempt(s, x -> {
                x.localize(k.name(), at);
                checkTile(x, k.name());
            });
        String thread = order.getFirst();
        for (String l : order.subList(1, outer)) thread = s.fuse(thread, l);
        GpuSchedules.bindAll(s, List.of(new GpuSchedules.Nest(List.of(thread), units)), threadsFor.get(units, true));
        return true;
    }

    /** The private memory one thread's tiles may take (OpenCL guarantees 16 KiB; registers hold far less). */
    static final long MAX_TILE_BYTES = 8 * 1024;

    /** Refuses (IllegalArgumentException) a localized buffer larger than {@link #MAX_TILE_BYTES}. */
    private static void checkTile(Schedule s, String buffer) {
        for (var a : allocations(s.func().body()))
            if (a.name().equals(buffer) && a.size() * a.dtype().bytes() > MAX_TILE_BYTES)
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
}
