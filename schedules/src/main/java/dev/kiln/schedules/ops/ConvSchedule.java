package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.DefaultSchedules.initNest;
import static dev.kiln.schedules.ops.DefaultSchedules.names;
import static dev.kiln.schedules.ops.DefaultSchedules.parallelOuter;
import static dev.kiln.schedules.ops.DefaultSchedules.product;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Compute;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import java.util.ArrayList;
import java.util.List;

/**
 * The default schedules of Conv's reduction ({@link Template#CONV}), in its two forms (see
 * {@link Conv}): the blocked form, vectorized over a block of output channels, and the plain NCHW
 * form, vectorized over the innermost output axis.
 */
final class ConvSchedule {
    private ConvSchedule() {}

    static void conv(Schedule s, Compute k, CpuTarget target) {
        if (!(k.body() instanceof Expr.Reduce r)) {
            toNchw(s, k, target);
            return;
        }
        // Blocked: [n, co/16, spatial..., 16] over (ci, k...), one axis more than the plain form.
        if (k.shape().size() == r.axes().size() + 2) blocked(s, k, r, target);
        else plain(s, k, r, target);
    }

    /**
     * {@code B[n, cb, sp..., ow, c] += X[n, ci, ...] * P[cb, ci, k..., c]}: order
     * {@code (n, cb, sp..., ow.o, ci, k..., ow.i, c)} with c vectorized and ow.i unrolled, a
     * register block: its accumulators stay in vector registers across the whole reduction, and
     * each step is one weight vector load and, per column, a broadcast input load and an FMA.
     * (n, cb, sp...) are fused and parallel.
     */
    private static void blocked(Schedule s, Compute k, Expr.Reduce r, CpuTarget target) {
        initNest(s, k, target);
        List<String> sp = names(k.axes(), ""), red = names(r.axes(), "");
        int rank = sp.size();
        String ow = sp.get(rank - 2), lane = sp.get(rank - 1);
        long width = k.shape().get(rank - 2);
        long block = columns(width, registersPerVector(k, target), target);
        List<String> order = new ArrayList<>(sp.subList(0, rank - 2));
        // Short rows (7 columns) take two channel blocks into the tile: each broadcast input then
        // feeds two FMAs and the tile still has 14 accumulators.
        String pair = null;
        if (block <= 7 && 2 * block * registersPerVector(k, target) <= 14 && k.shape().get(1) % 2 == 0) {
            String[] cb = s.split(sp.get(1), 2);
            order.set(1, cb[0]);
            pair = cb[1];
        }
        List<String> outer = List.copyOf(order);
        String inner = ow;
        if (block < width) {
            String[] oi = s.split(ow, block);
            order.add(oi[0]);
            inner = oi[1];
        }
        order.addAll(red);
        if (pair != null) order.add(pair);
        order.add(inner);
        order.add(lane);
        s.reorder(order.toArray(String[]::new));
        s.vectorize(lane);
        if (pair != null) s.unroll(pair);
        if (block > 1) s.unroll(inner);
        // Each register tile starts from zero right before its reduction: no pass zeroing the whole output.
        s.decomposeReduction(k.name(), red.get(0));
        parallelOuter(s, outer, k, k.numel() * product(r.extents()), target);
    }

    /**
     * The blocked conv reduction that {@code k} is the elementwise epilogue of (same grid, reads it,
     * possibly through inlined elementwise steps such as the bias add), or null.
     */
    static Compute blockedProducer(Compute k, OpCompute op) {
        if (k.body() instanceof Expr.Reduce) return null;
        for (dev.kiln.irlow.te.Operation in : k.inputs()) {
            if (!(in instanceof Compute c) || !c.shape().equals(k.shape())) continue;
            if (c.body() instanceof Expr.Reduce) {
                if (op.templateOf(c) == Template.CONV_NCHWC) return c;
            } else {
                Compute p = blockedProducer(c, op);
                if (p != null) return p;
            }
        }
        return null;
    }

    /** A blocked conv with no epilogue nest of its own (it always has one from ConvNchwc; kept for safety). */
    static void blockedAlone(Schedule s, Compute k, CpuTarget target) {
        blocked(s, k, (Expr.Reduce) k.body(), target);
    }

    /**
     * A blocked conv {@code conv} and its epilogue {@code out} (bias, activation, skip add) as one
     * nest: the epilogue gets the conv's tiling {@code (n, cb.o, sp..., ow.o, cb.i, ow.i, c)}; the
     * conv is computed at its {@code ow.o} loop (zeroed, reduced with the reduce loops outside the
     * tile's blocks, columns and lanes) into a tile-sized local buffer, so each register tile is
     * finished and stored while it is still in registers, with no pass over a whole-output
     * accumulator. Returns the computes scheduled here: the conv, and its padded input when that is
     * copied row by row ({@link #padPerRow}).
     */
    static List<Compute> withEpilogue(Schedule s, Compute conv, Compute out, CpuTarget target, Knobs knobs) {
        Expr.Reduce r = (Expr.Reduce) conv.body();
        List<String> sp = names(conv.axes(), ""), red = names(r.axes(), ""), ep = names(out.axes(), "");
        int rank = sp.size();
        long width = conv.shape().get(rank - 2);
        int perVector = registersPerVector(conv, target);
        long[] tile = defaultTile(conv, r, width, perVector, target);
        long block = knobs.choose("tile_cols", tileChoices(width, perVector, target), tile[0]);
        boolean taps = red.size() > 2 && knobs.chooseOne("reduce_order", List.of("channels-taps-lanes", "taps-channels-lanes"), 0) == 1;
        boolean parallel = DefaultSchedules.parallelKnob(knobs, conv.numel() * product(r.extents()), target);
        List<Long> blockChoices = blockChoices(conv, r, block, perVector, target);
        long blocks = knobs.choose("tile_blocks", blockChoices, block == tile[0] && blockChoices.contains(tile[1]) ? tile[1] : 1L);
        List<String> outer = new ArrayList<>(ep.subList(0, rank - 2));
        // A depthwise conv copies its padded input for a few output rows at a time (padPerRow):
        // the rows' loop is split, the copy made at its outer part.
        long rowsPerCopy = rowsPerCopy(conv, r, target);
        String rowInner = null;
        if (rowsPerCopy > 1) {
            String[] rows = s.split(ep.get(rank - 3), rowsPerCopy);
            outer.set(rank - 3, rows[0]);
            rowInner = rows[1];
        }
        String blockInner = null;
        if (blocks > 1) {
            String[] cb = s.split(ep.get(1), blocks);
            outer.set(1, cb[0]);
            blockInner = cb[1];
        }
        List<String> epOrder = new ArrayList<>(outer);
        if (rowInner != null) epOrder.add(rowInner);
        String epInner = ep.get(rank - 2), tileLoop;
        if (block < width) {
            String[] eo = s.split(epInner, block);
            epOrder.add(eo[0]);
            epInner = eo[1];
            tileLoop = eo[0];
        } else {
            tileLoop = epOrder.getLast();
        }
        if (blockInner != null) epOrder.add(blockInner);
        epOrder.add(epInner);
        epOrder.add(ep.getLast());
        s.reorder(epOrder.toArray(String[]::new));
        s.vectorize(ep.getLast());
        if (block > 1) s.unroll(epInner);
        if (blockInner != null) s.unroll(blockInner);
        s.computeAt(conv.name(), tileLoop);
        List<String> order = new ArrayList<>(sp.subList(0, rank - 2));
        // A tile of several channel blocks: the conv's block loop (the tile's blocks, after
        // computeAt) goes inside the reduction, next to the columns, and is unrolled.
        if (blocks > 1) order.remove(sp.get(1));
        List<String> reduce = new ArrayList<>(red);
        // (channel blocks, taps..., lanes) by default; the other order walks the taps outermost.
        if (taps) {
            String channels = reduce.removeFirst();
            boolean lanes = reduce.getLast().startsWith("rci");
            reduce.add(lanes ? reduce.size() - 1 : reduce.size(), channels);
        }
        order.addAll(reduce);
        if (blocks > 1) order.add(sp.get(1));
        order.add(sp.get(rank - 2));
        order.add(sp.getLast());
        s.reorder(order.toArray(String[]::new));
        s.vectorize(sp.getLast());
        if (block > 1) s.unroll(sp.get(rank - 2));
        if (blocks > 1) s.unroll(sp.get(1));
        s.decomposeReduction(conv.name(), reduce.getFirst());
        s.localize(conv.name(), tileLoop);
        Compute pad = padPerRow(s, conv, r, outer.get(rank - 3), target, knobs);
        DefaultSchedules.parallelOuter(s, outer, parallel);
        return pad == null ? List.of(conv) : List.of(conv, pad);
    }

    /**
     * Output channel blocks per register tile: 1, or 2 or 4 for a dense conv (one with a channel
     * reduction, so each input broadcast feeds one FMA per block) when the tile's accumulators,
     * its weight vectors and a broadcast fit the registers and the blocks divide evenly.
     */
    private static List<Long> blockChoices(Compute conv, Expr.Reduce r, long columns, int perVector, CpuTarget target) {
        List<Long> out = new ArrayList<>(List.of(1L));
        boolean dense = r.axes().size() > conv.shape().size() - 3;
        long channelBlocks = conv.shape().get(1);
        int registers = target.vectorRegisters() - target.scratchVectorRegisters();
        for (long k : new long[] {2, 4})
            if (dense && channelBlocks % k == 0 && k * (columns + 1) * perVector + 1 <= registers) out.add(k);
        return out;
    }

    /**
     * The default register tile (columns, channel blocks): for a dense conv the one with the most
     * FMAs per load (columns x blocks FMAs for columns broadcasts and blocks weight vectors) among
     * the column counts dividing the row and 1, 2 or 4 blocks, with at most 24 accumulators (so
     * 7-column rows, ResNet's last layers, take two blocks: 14 independent FMA chains rather than
     * 7); ties go to more columns. A depthwise conv keeps one block of {@link #columns}.
     */
    static long[] defaultTile(Compute conv, Expr.Reduce r, long width, int perVector, CpuTarget target) {
        long cols = columns(width, perVector, target);
        boolean dense = r.axes().size() > conv.shape().size() - 3;
        if (!dense) return new long[] {cols, 1};
        long bestCols = cols, bestBlocks = 1;
        double best = -1;
        for (long c : tileChoices(width, perVector, target)) {
            if (width % c != 0) continue;
            for (long k : blockChoices(conv, r, c, perVector, target)) {
                if (c * k * perVector > 24) continue;
                double ratio = (double) (c * k) / (c + k * perVector);
                if (ratio > best + 1e-9 || (Math.abs(ratio - best) < 1e-9 && c > bestCols)) {
                    best = ratio;
                    bestCols = c;
                    bestBlocks = k;
                }
            }
        }
        return new long[] {bestCols, bestBlocks};
    }


    /** The padded copy of its input that {@code conv} reads (a compute named {@code pad...}), or null. */
    private static Compute paddedInput(Compute conv) {
        Compute pad = null;
        for (dev.kiln.irlow.te.Operation in : conv.inputs())
            if (in instanceof Compute c && c.body() instanceof Expr.Reduce && c.name().startsWith("pad")) pad = c;
        return pad;
    }

    /**
     * Output rows per copy of a depthwise conv's padded input: the most of 4, 3, 2 that divides
     * the rows and whose input rows fit the L1 data cache; 1 otherwise (and for a dense
     * conv, or one without a padded copy). Consecutive output rows share input rows (2 of 3 for a
     * 3x3 stride-1 conv), so a copy for R rows copies (R-1)*stride+kh rows instead of R*kh: the
     * row copies were most of a depthwise kernel's time (its stores, not its FMAs, in perf).
     */
    private static long rowsPerCopy(Compute conv, Expr.Reduce r, CpuTarget target) {
        int spatial = conv.shape().size() - 3;
        Compute pad = paddedInput(conv);
        if (r.axes().size() != spatial || spatial < 2 || pad == null) return 1;
        int rank = conv.shape().size();
        long rows = conv.shape().get(rank - 3), kh = r.extents().get(r.extents().size() - 2);
        long paddedRows = pad.shape().get(rank - 3), rowBytes = pad.shape().get(rank - 2) * pad.shape().getLast() * pad.dtype().bytes();
        long stride = rows > 1 ? Math.max(1, Math.round((double) (paddedRows - kh) / (rows - 1))) : 1;
        for (long n : new long[] {4, 3, 2})
            if (rows % n == 0 && rows > n && ((n - 1) * stride + kh) * rowBytes <= target.caches().l1d()) return n;
        return 1;
    }

    /**
     * A depthwise conv (no channel reduction: each output block reads its own input block) copies
     * its padded input row by row: the copy is computed at the epilogue's row loop {@code row}
     * (one output row of one channel block per iteration, once the loops outside are fused) into a buffer of the kh input rows that
     * row reads, instead of a pass over the whole padded tensor before the conv. The whole-tensor
     * copy is a round trip through memory as large as the conv's input (mobilenetv2's stride-2
     * 112x112x96 layer spent more time copying than convolving); the rows stay in cache. Dense
     * convs keep the whole copy: each output block reads every input block, so a per-row copy
     * would be repeated for every output block. Knob {@code pad_rows} (default on). Returns the
     * padded input's compute when it scheduled it (either way), else null.
     */
    private static Compute padPerRow(Schedule s, Compute conv, Expr.Reduce r, String row, CpuTarget target, Knobs knobs) {
        int spatial = conv.shape().size() - 3;
        Compute pad = paddedInput(conv);
        if (r.axes().size() != spatial || pad == null) return null;
        if (!knobs.flag("pad_rows", true)) {
            // The whole copy as its own nest, on the heuristic's schedule: the space was declared
            // with the copy inside the conv, so it has no knobs of its own.
            DefaultSchedules.reduction(s, pad, target, Knobs.defaults());
            return pad;
        }
        s.computeAt(pad.name(), row);
        s.localize(pad.name(), row);
        String lane = pad.name() + ".i" + (pad.shape().size() - 1);
        if (s.loops().contains(lane)) s.vectorize(lane);
        return pad;
    }

    /** Register-tile widths worth trying: divisors of the row that fit the registers (the heuristic's among them). */
    private static List<Long> tileChoices(long width, int perVector, CpuTarget target) {
        int registers = target.vectorRegisters();
        long max = Math.min(16, Math.max(1, (registers - 2 * perVector) / perVector));
        List<Long> out = new ArrayList<>();
        for (long c = 1; c <= Math.min(max, width); c++) if (width % c == 0) out.add(c);
        long dflt = columns(width, perVector, target);
        if (!out.contains(dflt)) out.add(dflt);
        return out;
    }

    /**
     * The conversion {@code Y[n, co, sp..., w] = B[n, co/16, sp..., w, co%16]}: order
     * {@code (n, co.o, sp..., w.o, co.i, w.i)} with w.i vectorized (a gather of stride 16), so the
     * 16 channels of a block read the same few cache lines of B one after another instead of
     * sweeping the whole block 16 times (measured 2x on ResNet's 112x112 stem output).
     */
    private static void toNchw(Schedule s, Compute k, CpuTarget target) {
        List<String> sp = names(k.axes(), "");
        int rank = sp.size();
        long channels = k.shape().get(1), width = k.shape().getLast();
        int block = target.channelBlock();
        if (rank < 3 || channels % block != 0 || width < 2) {
            DefaultSchedules.injective(s, k, target);
            return;
        }
        int lanes = DefaultSchedules.lanes(k, target);
        String[] co = s.split(sp.get(1), block);
        List<String> order = new ArrayList<>(List.of(sp.get(0), co[0]));
        order.addAll(sp.subList(2, rank - 1));
        String[] w = DefaultSchedules.vectorize(s, sp.getLast(), width, lanes, Math.min(lanes * 4L, DefaultSchedules.MAX_VECTOR));
        if (w[0] != null) order.add(w[0]);
        order.add(co[1]);
        order.add(w[1]);
        s.reorder(order.toArray(String[]::new));
        parallelOuter(s, List.of(sp.get(0), co[0]), k, k.numel(), target);
    }

    /** Vector registers one accumulator of the lane axis takes (2 for 16 f32 lanes on AVX2). */
    private static int registersPerVector(Compute k, CpuTarget target) {
        return (int) Math.max(1, k.shape().getLast() * k.dtype().bytes() * 8 / target.vectorBits());
    }

    /**
     * Register block width: the largest divisor of the row that leaves a few registers free for the
     * weight vector (the target's vector registers: 32 on AVX-512 and NEON, 16 on AVX2), so no
     * column is guarded.
     */
    static long columns(long width, int perVector, CpuTarget target) {
        int registers = target.vectorRegisters() - target.scratchVectorRegisters();
        long max = Math.min(14, Math.max(1, (registers - 2 * perVector) / perVector));
        for (long c = Math.min(max, width); c > 1; c--) if (width % c == 0) return c;
        return 1;
    }

    /**
     * {@code Y[n, co, oh, ow] += X[n, ci, ...] * W[co, ci, kh, kw]} (depthwise, grouped, run-time
     * weights): ow split into vectors of up to 16 lanes, then a register block of up to 4 vectors
     * (whole row vectors first, then rows of oh), unrolled inside the reduction (ci, kh, kw) so the
     * accumulators stay in registers and independent FMA chains hide their latency; (n, co) fused
     * and parallel. Rows whose width no vector divides keep one vector per block.
     */
    private static void plain(Schedule s, Compute k, Expr.Reduce r, CpuTarget target) {
        initNest(s, k, target);
        List<String> sp = names(k.axes(), ""), red = names(r.axes(), "");
        int rank = sp.size();
        long w = k.shape().getLast();
        long vec = Math.min(w, Math.max(16, DefaultSchedules.lanes(k, target)));
        if (rank < 3 || w < 2 || w % vec != 0) {
            DefaultSchedules.windowed(s, k, sp, red, Math.max(16, DefaultSchedules.lanes(k, target)), target);
            parallelOuter(s, sp.subList(0, 2), k, k.numel() * product(r.extents()), target);
            return;
        }
        List<String> order = new ArrayList<>(sp.subList(0, rank - 2));
        String lane = sp.getLast(), cols = null, rows = null;
        long nvec = w / vec, ncols = divisorUpTo(nvec, 4);
        // Rows join the block only below the channel axis (rank 3 has none: its second-to-last axis is co).
        long nrows = rank >= 4 ? divisorUpTo(k.shape().get(rank - 2), 4 / ncols) : 1;
        if (nrows > 1) {
            String[] x = s.split(sp.get(rank - 2), nrows);
            order.add(x[0]);
            rows = x[1];
        } else {
            order.add(sp.get(rank - 2));
        }
        if (nvec > 1) {
            String[] x = s.split(lane, vec);
            lane = x[1];
            if (ncols > 1) {
                String[] y = s.split(x[0], ncols);
                order.add(y[0]);
                cols = y[1];
            } else {
                order.add(x[0]);
            }
        }
        order.addAll(red);
        if (rows != null) order.add(rows);
        if (cols != null) order.add(cols);
        order.add(lane);
        s.reorder(order.toArray(String[]::new));
        s.vectorize(lane);
        if (rows != null) s.unroll(rows);
        if (cols != null) s.unroll(cols);
        parallelOuter(s, sp.subList(0, 2), k, k.numel() * product(r.extents()), target);
    }

    /** The largest divisor of n that is at most max (at least 1). */
    private static long divisorUpTo(long n, long max) {
        for (long d = Math.min(n, Math.max(max, 1)); d > 1; d--) if (n % d == 0) return d;
        return 1;
    }
}
