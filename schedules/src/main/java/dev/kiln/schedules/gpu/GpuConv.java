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
 * The register-tiled GPU convolution: a conv reduction (plain NCHW or the packed pointwise form)
 * and its elementwise epilogue (bias, activation, skip add) in one kernel. Each thread computes a
 * tile of {@code tile_c} output channels x {@code tile_w} output columns: the conv is computed at
 * the thread's loop ({@link Schedule#computeAt}) into a tile-sized private buffer
 * ({@link Schedule#localize}), reduce loops outside and the tile's loops inside and unrolled, so
 * every input value loaded feeds {@code tile_c} products and every weight {@code tile_w}; the
 * epilogue then finishes the tile from registers. A padded-input intermediate is computed at the
 * same loop, only the window the tile reads. The generic template computes one output per
 * thread with the accumulator in global memory.
 *
 * <p>Knobs: {@code conv_tiled} (off: the generic template), {@code tile_c}, {@code tile_w}, and the
 * generic {@code threads} (work-group size, {@code threads}). Tiles that do not divide the shape
 * are guarded.
 */
final class GpuConv {
    private GpuConv() {}

    static final List<Long> TILES_C = List.of(1L, 2L, 4L, 8L, 16L);
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
        long tc = knobs.choose("tile_c", TILES_C, blocked || channels % BLOCK == 0 ? BLOCK : largestDividing(TILES_C, channels, 8));
        long tw = knobs.choose("tile_w", TILES_W, largestDividing(TILES_W, width, 8));
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
        String[] co = s.split(channelAxis, tc), wo = s.split(ep.getLast(), tw);
        List<String> order = new ArrayList<>(List.of(ep.getFirst()));
        if (channelBlock != null) order.add(channelBlock);
        order.add(co[0]);
        order.addAll(ep.subList(2, rank - 1));
        order.add(wo[0]);
        order.add(co[1]);
        order.add(wo[1]);
        s.reorder(order.toArray(String[]::new));
        int outer = order.size() - 2;
        // Placed at the innermost of the thread's loops, before fusing them: the conv's indices
        // stay affine in each of them (a fused index would need div and mod).
        String at = order.get(outer - 1);
        if (tc > 1) s.unroll(co[1]);
        if (tw > 1) s.unroll(wo[1]);
        long units = out.numel() / (tc * tw);
        for (Compute k : intermediates) s.computeAt(k.name(), at);
        Expr.Reduce r = (Expr.Reduce) conv.body();
        List<String> sp = GpuSchedules.names(conv.axes()), red = GpuSchedules.names(r.axes());
        List<String> convOrder = new ArrayList<>(red);
        convOrder.addAll(sp);
        s.reorder(convOrder.toArray(String[]::new));
        for (String l : sp) if (s.extent(l) > 1) s.unroll(l);
        s.decomposeReduction(conv.name(), red.getFirst());
        for (Compute k : intermediates) if (k != conv) GpuSchedules.attempt(s, x -> GpuSchedules.decompose(x, k));
        s.localize(conv.name(), at);
        // A padded input the tile reads is kept privately too where its indices allow (a strided
        // conv's phase split does not: its tile then goes to the global copy, as each thread
        // writes the same values there).
        java.util.Set<String> local = new java.util.HashSet<>(List.of(conv.name()));
        for (Compute k : intermediates) if (k != conv && GpuSchedules.attempt(s, x -> x.localize(k.name(), at))) local.add(k.name());
        for (var a : allocations(s.func().body()))
            if (local.contains(a.name()) && a.size() * a.dtype().bytes() > MAX_TILE_BYTES)
                throw new IllegalArgumentException("the tile's " + a.name() + " takes " + a.size() * a.dtype().bytes() + " bytes, more than a thread keeps ("
                        + MAX_TILE_BYTES + ")");
        String thread = order.getFirst();
        for (String l : order.subList(1, outer)) thread = s.fuse(thread, l);
        GpuSchedules.bindAll(s, List.of(new GpuSchedules.Nest(List.of(thread), units)), threadsFor.get(units, true));
        return true;
    }

    /** The private memory one thread's tiles may take (OpenCL guarantees 16 KiB; registers hold far less). */
    static final long MAX_TILE_BYTES = 8 * 1024;

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
