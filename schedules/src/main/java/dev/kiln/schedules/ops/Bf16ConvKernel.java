package dev.kiln.schedules.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Bf16Conv;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.schedules.ops.Int8MatMulKernel.Tile;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import java.util.ArrayList;
import java.util.List;

/**
 * The native kernel of {@link Bf16Conv} on a CPU: a direct conv on the blocked (NCHWc) layout around
 * {@link Intrinsic#DOT2_BF16}, no im2col. Channel blocks of B (16) hold B/2 pairs of input channels.
 *
 * <p>At compile time the weights are rounded to bf16 and packed as {@code [M/B][C/B][kh][kw][B/2][B]}
 * words: for an output block, input block and tap, each pair of input channels is one vector of the
 * B output channels' pairs (two bytes per weight). At run time the input is rounded and paired into a
 * zero-bordered copy {@code [N][C/B][H+pads][W+pads][B/2]} ({@link Intrinsic#PAIR_BF16}, one pixel's
 * block per step), so every tap is a plain load. A register tile holds R output pixels of a row by V
 * output blocks: per (input block, tap, pair) R broadcast words and V weight vectors make R*V dot
 * products. Knobs: {@code tile}, {@code loop_order} (output rows outside the block tiles, or block
 * tiles outside the rows so that a tile's weights stay in cache; the default by whether the weights
 * fit half of L2) and {@code parallel} (the outer loop across cores).
 */
final class Bf16ConvKernel {
    private Bf16ConvKernel() {}

    static Kernel kernel(Node n, Graph g, CpuTarget target, Knobs knobs) {
        int[] xd = g.value(n.input(0)).shape().dims(), yd = g.value(n.output(0)).shape().dims();
        Tensor w = g.initializers().get(n.input(1));
        if (w == null || w.shape().rank() != 4) throw n.error("the weight must be a 4-D constant for the native bf16 conv");
        int block = xd[4], lanes = target.vectorLanes(4);
        if (block != lanes || yd[4] != block) throw n.error("the bf16 conv needs blocks of the target's " + lanes + " f32 lanes, got " + block);
        long batch = xd[0], cb = xd[1], h = xd[2], wd = xd[3], ob = yd[1], oh = yd[2], ow = yd[3];
        long m = w.shape().dim(0), c = w.shape().dim(1), kh = w.shape().dim(2), kw = w.shape().dim(3), pairs = block / 2;
        long[] pads = n.attrInts("pads", new long[] {0, 0, 0, 0}), strides = n.attrInts("strides", new long[] {1, 1});
        long hp = h + pads[0] + pads[2], wp = wd + pads[1] + pads[3];

        // Compile time: [M/B][C/B][kh][kw][B/2][B] words of bf16 pairs.
        float[] wv = w.floats();
        long[] packed = new long[Math.toIntExact(m * c * kh * kw / 2)];
        for (int o = 0; o < m; o++)
            for (int ci = 0; ci < c; ci++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++) {
                        int word = (int) ((((((o / block) * cb + ci / block) * kh + y) * kw + x) * pairs + (ci % block) / 2) * block + o % block);
                        long bits = Intrinsic.bf16Bits(wv[(int) (((o * c + ci) * kh + y) * kw + x)]);
                        packed[word] = (int) (packed[word] | bits << (16 * (ci % 2)));
                    }
        String wName = n.input(1) + Packed.BF16_CONV + block;
        Tensor prev = g.initializers().putIfAbsent(wName, Tensor.of(DType.INT32, Shape.of(m / block, cb, kh, kw, pairs, block), packed));
        if (prev != null && prev.size() != packed.length) throw new IllegalStateException(n.describe() + ": derived constant " + wName + " differs");
        List<String> inputs = new ArrayList<>(List.of(n.input(0), wName));
        Buffer px = new Buffer("x", ScalarType.F32, batch * cb * h * wd * block), pw = new Buffer("w_packed", ScalarType.I32, packed.length);
        List<Buffer> params = new ArrayList<>(List.of(px, pw));
        Buffer pbias = null;
        if (n.hasInput(2)) {
            Tensor bias = g.initializers().get(n.input(2));
            if (bias == null || bias.size() != m) throw n.error("the bias must be a constant of " + m + " values for the native bf16 conv");
            inputs.add(n.input(2));
            pbias = new Buffer("bias", ScalarType.F32, m);
            params.add(pbias);
        }
        Buffer py = new Buffer("y", ScalarType.F32, batch * ob * oh * ow * block);
        params.add(py);

        int budget = target.vectorRegisters() - target.vectorRegisters() / 8;
        List<Tile> tiles = Int8MatMulKernel.tiles(ow, ob, budget);
        Tile t = tiles.get(knobs.chooseOne("tile", tiles.stream().map(Tile::label).toList(), tiles.indexOf(Int8MatMulKernel.heuristic(tiles))));
        // rows-outer: every row runs over all the weights (best while they stay in L2); blocks-outer: a
        // block tile's weights stay while every row runs over them (resnet's 512-channel 3x3 layers, whose
        // 4.7 MB of weights were streamed from memory once per output row).
        boolean big = m * c * kh * kw * 2 > target.caches().l2() / 2;
        boolean blocksOuter = knobs.chooseOne("loop_order", List.of("rows-outer", "blocks-outer"), big ? 1 : 0) == 1;
        boolean parallel = DefaultSchedules.parallelKnob(knobs, 2 * batch * ob * block * oh * ow * c * kh * kw, target);

        Buffer xp = new Buffer("x_pairs", ScalarType.I32, batch * cb * hp * wp * pairs);
        Geometry geo = new Geometry(batch, cb, h, wd, hp, wp, pads[0], pads[1], strides[0], strides[1], kh, kw, ob, oh, ow, block, pairs);
        Stmt body = new Stmt.Allocate(xp, new Stmt.Seq(List.of(geo.pack(px, xp), geo.conv(xp, pw, pbias, py, t, blocksOuter, parallel))));
        String name = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(name).replaceFirst("^v_", ""), params, body);
        return new Kernel(fn, inputs, List.of(n.output(0)), new Kernel.Info(n.name(), List.of(Bf16Conv.OP), "bf16_conv", "NCHW" + block + "c",
                Work.flops(n, g)));
    }

    private record Geometry(long batch, long cb, long h, long w, long hp, long wp, long padTop, long padLeft, long strideH, long strideW,
                            long kh, long kw, long ob, long oh, long ow, int block, long pairs) {
        /** Zeroes the paired copy, then writes each pixel's block of B floats as B/2 words inside its border. */
        Stmt pack(Buffer x, Buffer xp) {
            Expr.Var z = Exprs.var("zero"), nc = Exprs.var("pack_nc"), y = Exprs.var("pack_y"), xx = Exprs.var("pack_x");
            long words = batch * cb * hp * wp * pairs;
            Stmt zero = new Stmt.For(z, Idx.c(0), Idx.c(words / pairs), ForKind.SERIAL,
                    new Stmt.Store(xp, ramp(Idx.mul(z, pairs), (int) pairs), new Expr.Broadcast(Exprs.intImm(ScalarType.I32, 0), (int) pairs)));
            Expr src = Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(nc, h), y), w), xx), block);
            Expr dst = Idx.mul(Idx.add(Exprs.add(Idx.mul(Idx.add(Exprs.add(Idx.mul(nc, hp), y), padTop), wp), xx), padLeft), pairs);
            Expr words16 = new Expr.Call(Type.I32.withLanes((int) pairs), Intrinsic.PAIR_BF16,
                    List.of(Exprs.cast(ScalarType.BF16, new Expr.Load(x, ramp(src, block)))));
            Stmt copy = new Stmt.For(nc, Idx.c(0), Idx.c(batch * cb), ForKind.SERIAL, new Stmt.For(y, Idx.c(0), Idx.c(h), ForKind.SERIAL,
                    new Stmt.For(xx, Idx.c(0), Idx.c(w), ForKind.SERIAL, new Stmt.Store(xp, ramp(dst, (int) pairs), words16))));
            return new Stmt.Seq(List.of(zero, copy));
        }

        private static Expr ramp(Expr base, int lanes) {
            return new Expr.Ramp(base, Idx.c(1), lanes);
        }

        /**
         * For each image, every tile of R pixels by V output blocks, tails included: rows outer (in
         * parallel) with the block tiles inside, or block tiles outer (in parallel) with the rows inside.
         */
        Stmt conv(Buffer xp, Buffer wpk, Buffer bias, Buffer y, Tile t, boolean blocksOuter, boolean parallel) {
            Expr.Var n = Exprs.var("n");
            List<Stmt> outer = new ArrayList<>();
            int id = 0;
            for (Packed.Segment bs : Packed.segments(ob, t.vecs())) {
                List<Stmt> perRow = new ArrayList<>();
                Expr.Var bv = Exprs.var("block_tile" + id), row = Exprs.var("out_row" + id);
                for (Packed.Segment ps : Packed.segments(ow, t.rows())) {
                    Expr.Var pv = Exprs.var("pixel_tile" + id);
                    Stmt tile = tile(xp, wpk, bias, y, n, row, Idx.add(Idx.mul(bv, bs.size()), bs.start()), bs.size(),
                            Idx.add(Idx.mul(pv, ps.size()), ps.start()), ps.size(), "t" + id++);
                    perRow.add(new Stmt.For(pv, Idx.c(0), Idx.c(ps.count()), ForKind.SERIAL, tile));
                }
                if (blocksOuter) {
                    ForKind kind = parallel && bs.count() > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
                    outer.add(new Stmt.For(bv, Idx.c(0), Idx.c(bs.count()), kind,
                            new Stmt.For(row, Idx.c(0), Idx.c(oh), ForKind.SERIAL, new Stmt.Seq(perRow))));
                } else {
                    ForKind kind = parallel && oh > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
                    outer.add(new Stmt.For(row, Idx.c(0), Idx.c(oh), kind,
                            new Stmt.For(bv, Idx.c(0), Idx.c(bs.count()), ForKind.SERIAL, new Stmt.Seq(perRow))));
                }
            }
            return new Stmt.For(n, Idx.c(0), Idx.c(batch), ForKind.SERIAL, new Stmt.Seq(outer));
        }

        private Stmt tile(Buffer xp, Buffer wpk, Buffer bias, Buffer y, Expr n, Expr row, Expr ob0, long v, Expr ow0, long r, String tag) {
            Buffer acc = new Buffer("acc_" + tag, ScalarType.F32, r * v * block);
            Expr.Var ci = Exprs.var("cb_" + tag), ky = Exprs.var("ky_" + tag), kx = Exprs.var("kx_" + tag), cp = Exprs.var("cp_" + tag);
            List<Stmt> init = new ArrayList<>(), step = new ArrayList<>(), out = new ArrayList<>();
            for (long i = 0; i < r * v; i++)
                init.add(new Stmt.Store(acc, ramp(Idx.c(i * block), block), new Expr.Broadcast(Exprs.f32(0), block)));
            // Input word: (((n*CB + cb)*Hp + row*sh + ky)*Wp + (ow0+i)*sw + kx)*B/2 + cp.
            Expr inRow = Exprs.add(Exprs.add(Idx.mul(Exprs.add(Idx.mul(n, cb), ci), hp), Idx.mul(row, strideH)), ky);
            // Weight vector: (((((ob0+j)*CB + cb)*kh + ky)*kw + kx)*B/2 + cp)*B.
            for (long i = 0; i < r; i++) {
                Expr col = Exprs.add(Idx.mul(Idx.add(ow0, i), strideW), kx);
                Expr word = new Expr.Load(xp, Exprs.add(Idx.mul(Exprs.add(Idx.mul(inRow, wp), col), pairs), cp));
                Expr aWord = new Expr.Broadcast(word, block);
                for (long j = 0; j < v; j++) {
                    Expr wAt = Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(Idx.add(ob0, j), cb), ci), kh), ky), kw), kx),
                            pairs), cp), block);
                    Expr at = ramp(Idx.c((i * v + j) * block), block);
                    step.add(new Stmt.Store(acc, at, Exprs.call(Intrinsic.DOT2_BF16, new Expr.Load(acc, at), aWord, new Expr.Load(wpk, ramp(wAt, block)))));
                }
            }
            for (long i = 0; i < r; i++) {
                for (long j = 0; j < v; j++) {
                    Expr vec = new Expr.Load(acc, ramp(Idx.c((i * v + j) * block), block));
                    if (bias != null) vec = Exprs.add(vec, new Expr.Load(bias, ramp(Idx.mul(Idx.add(ob0, j), block), block)));
                    Expr yAt = Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(n, ob), Idx.add(ob0, j)), oh), row), ow), Idx.add(ow0, i)), block);
                    out.add(new Stmt.Store(y, ramp(yAt, block), vec));
                }
            }
            Stmt loop = new Stmt.For(ci, Idx.c(0), Idx.c(cb), ForKind.SERIAL, new Stmt.For(ky, Idx.c(0), Idx.c(kh), ForKind.SERIAL,
                    new Stmt.For(kx, Idx.c(0), Idx.c(kw), ForKind.SERIAL, new Stmt.For(cp, Idx.c(0), Idx.c(pairs), ForKind.SERIAL, new Stmt.Seq(step)))));
            return new Stmt.Allocate(acc, new Stmt.Seq(List.of(new Stmt.Seq(init), loop, new Stmt.Seq(out))));
        }
    }
}
