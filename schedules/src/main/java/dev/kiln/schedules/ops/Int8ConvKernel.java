package dev.kiln.schedules.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Int8Conv;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import java.util.ArrayList;
import java.util.List;

/**
 * The native kernel of {@link Int8Conv} on a CPU ("pixels in lanes", NCHW in and out, no blocked
 * layout), written out as loop IR around the 4-way byte dot product {@link Intrinsic#DOT4_U8S8}.
 *
 * <p>X' = X (uint8) or X + 128 (int8) and W' = W - w_zp (a signed byte: the graph pass checks), so
 * {@code X - x_zp = X' - za'} with {@code za' = x_zp (+128)} and, in wrapping int32,
 * {@code y[o, p] = sum X'W' - za' * sum W'[o]}: the last sum is a compile-time constant per output
 * channel. Padding is filled with za', so it adds {@code za' * W'} to the sum, which the correction
 * takes out with the rest.
 *
 * <p>At run time each image of X' is packed into words of 4 channels per padded pixel,
 * {@code [C/4][Sh][Sw][Hq][Wq]} (rows and columns split by the phase of their stride, see
 * {@link Geometry}, so consecutive output pixels of one tap read consecutive words whatever the
 * strides); channels past C hold 0. At compile time W' is packed into {@code [M][C/4][KH][KW]} words
 * (one byte per weight). Then a register tile of R output channels by V vectors of L output pixels
 * (L the i32 lanes) accumulates, per (c/4, kh, kw): V vector loads of X', R broadcasts of a weight
 * word, R*V dot products. The lanes are output pixels, so stores to NCHW are contiguous; the last
 * vector of a row stores lane by lane up to the row's end.
 *
 * <p>Knobs: {@code pixels} ({@code rows}: vectors of one output row; {@code flat}: vectors of
 * consecutive pixels across rows, for rows narrower than a vector, stored lane by lane; default flat
 * where it fills 15 % more lanes), {@code tile} (RxV within seven eighths of the vector registers;
 * default the most dot products per load), {@code loop_order} ({@code rows-outer}: every channel block
 * runs over one row while it is hot, the weights re-read per row; {@code channels-outer}: a block of
 * weights stays while every row runs over it, the input re-read per block; default whichever re-reads
 * fewer bytes, channels-outer for one flat row) and {@code parallel} (the outer loop and the packing
 * across cores). Every value is exact.
 */
final class Int8ConvKernel {
    private Int8ConvKernel() {}

    static Kernel kernel(Node n, Graph g, CpuTarget target, Knobs knobs) {
        Shape xs = g.value(n.input(0)).shape();
        Tensor w = g.initializers().get(n.input(1));
        if (w == null || w.shape().rank() != 4 || xs.rank() != 4) throw n.error("W must be a rank-4 constant for the native int8 conv");
        if (n.attrInt("group", 1) != 1) throw n.error("the native int8 conv takes group 1 only");
        int[] geo = Int8Conv.geometry(n, xs, w.shape());
        long batch = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3);
        long m = w.shape().dim(0), kh = w.shape().dim(2), kw = w.shape().dim(3);
        if (w.shape().dim(1) != c) throw n.error("W has " + w.shape().dim(1) + " input channels, X has " + c);
        Geometry rows = new Geometry(batch, c, h, wd, m, kh, kw, geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], geo[7], geo[8], geo[9],
                target.vectorLanes(4), false);
        Geometry flat = new Geometry(batch, c, h, wd, m, kh, kw, geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], geo[7], geo[8], geo[9],
                target.vectorLanes(4), true);
        boolean xSigned = g.value(n.input(0)).dtype() == DType.INT8;
        ScalarType xt = OpBuilder.scalar(g.value(n.input(0)).dtype());

        // Compile-time constants: W' packed and sum W' per output channel.
        Tensor zwT = n.hasInput(3) ? g.initializers().get(n.input(3)) : null;
        if (n.hasInput(3) && zwT == null) throw n.error("w_zero_point must be a constant for the native int8 conv");
        long taps = kh * kw, perChannel = c * taps;
        long c4 = (c + 3) / 4;
        long[] packed = new long[Math.toIntExact(m * c4 * taps)], corr = new long[(int) m];
        for (int o = 0; o < m; o++) {
            long z = zwT == null ? 0 : zwT.getLong(zwT.size() == 1 ? 0 : o), sum = 0;
            for (int ci = 0; ci < c; ci++) {
                for (int t = 0; t < taps; t++) {
                    long v = w.getLong((int) (o * perChannel + ci * taps + t)) - z;
                    if (v < -128 || v > 127) throw n.error("W - w_zero_point = " + v + " is not a signed byte; the native int8 conv cannot take it");
                    sum += v;
                    int word = (int) ((o * c4 + ci / 4) * taps + t);
                    packed[word] = (int) (packed[word] | (v & 0xff) << (8 * (ci % 4)));
                }
            }
            corr[o] = (int) sum;
        }
        String base = n.input(1) + (n.hasInput(3) ? "_minus_" + n.input(3) : "");
        List<String> inputs = new ArrayList<>(List.of(n.input(0),
                Packed.constant(g, n, base + Packed.INT8_CONV, Tensor.of(DType.INT32, Shape.of(m, c4, kh, kw), packed)),
                Packed.constant(g, n, base + "__int8conv_sum", Tensor.of(DType.INT32, Shape.of(m), corr))));
        Buffer px = new Buffer("x", xt, batch * c * h * wd), pw = new Buffer("w_packed", ScalarType.I32, m * c4 * taps);
        Buffer pcorr = new Buffer("w_sum", ScalarType.I32, m);
        List<Buffer> params = new ArrayList<>(List.of(px, pw, pcorr));
        Buffer pza = null;
        if (n.hasInput(2)) {
            pza = new Buffer("x_zero_point", xt, 1);
            params.add(pza);
            inputs.add(n.input(2));
        }
        Buffer py = new Buffer("y", ScalarType.I32, batch * m * geo[8] * geo[9]);
        params.add(py);

        // Knobs, declared from the workload only (their defaults from the default geometry and tile).
        // Rows narrower than a vector waste lanes; flat pixels fill them across rows, storing lane by lane.
        boolean flatBetter = rows.ow() < rows.lanes() && flat.utilization() > 1.15 * rows.utilization();
        Geometry gm = knobs.chooseOne("pixels", List.of("rows", "flat"), flatBetter ? 1 : 0) == 1 ? flat : rows;
        Geometry preferred = flatBetter ? flat : rows;
        int budget = target.vectorRegisters() - target.vectorRegisters() / 8;
        List<Int8MatMulKernel.Tile> tiles = tiles(m, Math.max(rows.vectors(), flat.vectors()), budget);
        Int8MatMulKernel.Tile best = Int8MatMulKernel.heuristic(tiles(m, preferred.vectors(), budget));
        Int8MatMulKernel.Tile chosen = tiles.get(knobs.chooseOne("tile", tiles.stream().map(Int8MatMulKernel.Tile::label).toList(), tiles.indexOf(best)));
        // A tile wider than the rows of the other geometry is capped to them.
        Int8MatMulKernel.Tile t = new Int8MatMulKernel.Tile(chosen.rows(), Math.min(chosen.vecs(), gm.vectors()));
        // Bytes re-read: the packed input once per channel block, or the weights once per output row.
        long weightBytes = 4 * m * preferred.c4() * taps;
        // One flat row: nothing is re-read either way, and only channel blocks can be split across cores.
        int order = preferred.rows() == 1 || (m + best.rows() - 1) / best.rows() * 4 * preferred.packedWords() < preferred.rows() * weightBytes ? 1 : 0;
        boolean channelsOuter = knobs.chooseOne("loop_order", List.of("rows-outer", "channels-outer"), order) == 1;
        boolean parallel = DefaultSchedules.parallelKnob(knobs, 2 * batch * gm.oh() * gm.ow() * m * perChannel, target);

        Expr.Var za = new Expr.Var("za", Type.I32);
        Expr zaValue = pza == null ? i32(0) : Exprs.cast(ScalarType.I32, new Expr.Load(pza, Idx.c(0)));
        if (xSigned) zaValue = Exprs.add(zaValue, i32(128));
        Buffer xpk = new Buffer("x_packed", ScalarType.I32, gm.packedWords() + gm.lanes());
        Expr.Var img = Exprs.var("image");
        Body b = new Body(gm, px, pw, pcorr, py, xpk, za, xSigned);
        Stmt perImage = new Stmt.Seq(List.of(b.pack(img, parallel), b.conv(img, t, channelsOuter, parallel)));
        Stmt body = new Stmt.Allocate(xpk, new Stmt.LetStmt(za, zaValue, new Stmt.For(img, Idx.c(0), Idx.c(batch), ForKind.SERIAL, perImage)));
        String name = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(name).replaceFirst("^v_", ""), params, body);
        return new Kernel(fn, inputs, List.of(n.output(0)),
                new Kernel.Info(n.name(), List.of(Int8Conv.OP), "int8_conv", "", Work.flops(n, g)));
    }

    /**
     * The same product as ConvInteger's decomposition computes it, as a tensor expression: what targets
     * other than CPUs compile (this node is only made for CPUs with the byte dot product).
     */
    static void compute(OpBuilder b) {
        Node n = b.node;
        Shape xs = b.in(0).shape(), ws = b.in(1).shape();
        int[] geo = Int8Conv.geometry(n, xs, ws);
        long m = ws.dim(0), c = ws.dim(1), kh = ws.dim(2), kw = ws.dim(3), h = xs.dim(2), wd = xs.dim(3);
        dev.kiln.irlow.te.Placeholder px = b.input(0), pw = b.input(1);
        dev.kiln.irlow.te.Placeholder pza = n.hasInput(2) ? b.input(2, new long[] {1}) : null;
        dev.kiln.irlow.te.Placeholder pzw = n.hasInput(3) ? b.input(3, new long[] {b.in(3).shape().numel()}) : null;
        boolean perChannel = pzw != null && b.in(3).shape().numel() > 1;
        Expr.Var rc = b.reduceAxis("rc"), ry = b.reduceAxis("ry"), rx = b.reduceAxis("rx");
        dev.kiln.irlow.te.Compute out = dev.kiln.irlow.te.Te.compute(b.outName(0), ScalarType.I32,
                dev.kiln.irlow.te.Te.box(xs.dim(0), m, geo[8], geo[9]), ax -> {
                    Expr iy = Idx.window(ax.get(2), geo[4], ry, geo[6], -geo[0]), ix = Idx.window(ax.get(3), geo[5], rx, geo[7], -geo[1]);
                    Expr inside = Exprs.and(Idx.within(iy, 0, h), Idx.within(ix, 0, wd));
                    Expr xv = Exprs.cast(ScalarType.I32, dev.kiln.irlow.te.Te.read(px, ax.get(0), rc, Idx.clamp(iy, 0, h - 1), Idx.clamp(ix, 0, wd - 1)));
                    if (pza != null) xv = Exprs.sub(xv, Exprs.cast(ScalarType.I32, dev.kiln.irlow.te.Te.read(pza, Idx.c(0))));
                    xv = new Expr.Select(inside, xv, i32(0));
                    Expr wv = Exprs.cast(ScalarType.I32, dev.kiln.irlow.te.Te.read(pw, ax.get(1), rc, ry, rx));
                    if (pzw != null) wv = Exprs.sub(wv, Exprs.cast(ScalarType.I32, dev.kiln.irlow.te.Te.read(pzw, perChannel ? ax.get(1) : Idx.c(0))));
                    return dev.kiln.irlow.te.Te.sum(Exprs.mul(xv, wv), List.of(rc, ry, rx), List.of(c, kh, kw));
                });
        b.output(0, out);
    }

    /** The tiles whose accumulators fit {@code budget} registers, channels and vectors capped by the extents. */
    static List<Int8MatMulKernel.Tile> tiles(long m, long vectors, int budget) {
        List<Int8MatMulKernel.Tile> r = new ArrayList<>();
        for (long rows : new long[] {1, 2, 3, 4, 6, 8, 12, 16}) {
            if (rows > Math.max(1, m)) continue;
            for (long v = 1; v <= 4 && v <= vectors; v++) if (rows * v <= budget) r.add(new Int8MatMulKernel.Tile(rows, v));
        }
        return r;
    }

    private static Expr i32(long v) {
        return Exprs.intImm(ScalarType.I32, v);
    }

    /**
     * The conv's extents, its resolved padding, strides and dilations, and the packed input's shape
     * {@code [C/4][Sh][Sw][Hq][Wq]}: padded row {@code hq*Sh + rp} and column {@code q*Sw + ph} at
     * {@code [rp][ph][hq][q]}, so output pixel (oh, ow) of tap (kh, kw) reads row {@code oh + kh*dh/Sh}
     * and column {@code ow + kw*dw/Sw} of phase ({@code kh*dh % Sh}, {@code kw*dw % Sw}): consecutive
     * pixels read consecutive words whatever the strides. With {@code flat}, a vector holds
     * consecutive "virtual" pixels {@code oh*Wq + ow} across rows (lanes with {@code ow >= OW} are
     * computed and dropped) instead of pixels of one row.
     */
    record Geometry(long batch, long c, long h, long w, long m, long kh, long kw, long padTop, long padLeft, long padBottom, long padRight,
                    long strideH, long strideW, long dilH, long dilW, long oh, long ow, int lanes, boolean flat) {
        long c4() {
            return (c + 3) / 4;
        }

        /** Output rows the kernel loops over: every row, or one flat row of virtual pixels. */
        long rows() {
            return flat ? 1 : oh;
        }

        /** Vectors of L pixels per row (the last one partial when the row is not a multiple of L). */
        long vectors() {
            return flat ? ((oh - 1) * wq() + ow + lanes - 1) / lanes : (ow + lanes - 1) / lanes;
        }

        /** The share of computed lanes that are output pixels. */
        double utilization() {
            return (double) oh * ow / (rows() * vectors() * lanes);
        }

        /** Packed rows per row phase. */
        long hq() {
            return oh + (kh - 1) * dilH / strideH;
        }

        /** Words per packed row: every vector of every tap reads inside it (flat: every real pixel does). */
        long wq() {
            return (flat ? ow : (ow + lanes - 1) / lanes * lanes) + (kw - 1) * dilW / strideW;
        }

        long packedWords() {
            return c4() * strideH * strideW * hq() * wq();
        }
    }

    /** The loop nests over the kernel's buffers. */
    private record Body(Geometry gm, Buffer x, Buffer w, Buffer corr, Buffer y, Buffer xpk, Expr za, boolean xSigned) {
        /** {@code xpk[c4][hp][ph][q]}: 4 channels of padded pixel (hp, q*S + ph) of image {@code img} of X' as one word. */
        Stmt pack(Expr img, boolean parallel) {
            List<Stmt> words = new ArrayList<>();
            long full = gm.c() / 4;
            if (full > 0) {
                Expr.Var c4 = Exprs.var("pack_c4");
                // Groups of 4 channels write disjoint words: split across cores with the conv.
                ForKind kind = parallel && full > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
                words.add(new Stmt.For(c4, Idx.c(0), Idx.c(full), kind, packRows(img, c4, 4, "")));
            }
            if (gm.c() % 4 != 0) words.add(packRows(img, Idx.c(full), gm.c() % 4, "_tail"));
            // The slack past the last word, which the last flat vector may read (its lanes are dropped).
            Expr.Var e = Exprs.var("pack_slack");
            words.add(new Stmt.For(e, Idx.c(0), Idx.c(gm.lanes()), ForKind.SERIAL, new Stmt.Store(xpk, Idx.add(e, gm.packedWords()), i32(0))));
            return new Stmt.Seq(words);
        }

        /** The packed words of channel group {@code c4} (of {@code count} real channels) over every phase, row and column. */
        private Stmt packRows(Expr img, Expr c4, long count, String tag) {
            Expr.Var rp = Exprs.var("pack_row_phase" + tag), ph = Exprs.var("pack_phase" + tag);
            Expr.Var hq = Exprs.var("pack_row" + tag), q = Exprs.var("pack_col" + tag);
            Expr ih = Idx.add(Exprs.add(Idx.mul(hq, gm.strideH()), rp), -gm.padTop());
            Expr iw = Idx.add(Exprs.add(Idx.mul(q, gm.strideW()), ph), -gm.padLeft());
            Expr inside = Exprs.and(Idx.within(ih, 0, gm.h()), Idx.within(iw, 0, gm.w()));
            Expr plane = Exprs.add(Idx.mul(Exprs.add(Idx.mul(c4, gm.strideH()), rp), gm.strideW()), ph);
            Expr at = Exprs.add(Idx.mul(Exprs.add(Idx.mul(plane, gm.hq()), hq), gm.wq()), q);
            Stmt inner = new Stmt.For(q, Idx.c(0), Idx.c(gm.wq()), ForKind.SERIAL, new Stmt.Store(xpk, at, word(img, c4, count, ih, iw, inside)));
            return new Stmt.For(rp, Idx.c(0), Idx.c(gm.strideH()), ForKind.SERIAL, new Stmt.For(ph, Idx.c(0), Idx.c(gm.strideW()), ForKind.SERIAL,
                    new Stmt.For(hq, Idx.c(0), Idx.c(gm.hq()), ForKind.SERIAL, inner)));
        }

        /** The word of channels 4*c4 .. 4*c4+count-1 at (ih, iw): X' inside the image, za' in the padding, 0 past C. */
        private Expr word(Expr img, Expr c4, long count, Expr ih, Expr iw, Expr inside) {
            Expr word = null;
            for (int j = 0; j < count; j++) {
                Expr ch = Idx.add(Idx.mul(c4, 4), j);
                Expr idx = Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(img, gm.c()), ch), gm.h()), Idx.clamp(ih, 0, gm.h() - 1)), gm.w()),
                        Idx.clamp(iw, 0, gm.w() - 1));
                Expr v = Exprs.cast(ScalarType.I32, new Expr.Load(x, idx));
                if (xSigned) v = Exprs.add(v, i32(128));
                Expr byteJ = new Expr.Select(inside, v, za);
                Expr shifted = j == 0 ? byteJ : Exprs.mul(byteJ, i32(1L << (8 * j)));
                word = word == null ? shifted : new Expr.Or(word, shifted);
            }
            return word;
        }

        /** Every tile of image {@code img}: output rows, channel blocks and vector blocks, each with its tail, in the chosen order. */
        Stmt conv(Expr img, Int8MatMulKernel.Tile t, boolean channelsOuter, boolean parallel) {
            List<Packed.Segment> chSegs = Packed.segments(gm.m(), t.rows()), vecSegs = Packed.segments(gm.vectors(), t.vecs());
            List<Stmt> outer = new ArrayList<>();
            int id = 0;
            if (channelsOuter) {
                for (Packed.Segment cs : chSegs) {
                    Expr.Var cb = Exprs.var("channel_block" + id), row = Exprs.var("out_row" + id);
                    List<Stmt> inner = new ArrayList<>();
                    for (Packed.Segment vs : vecSegs) {
                        Expr.Var vb = Exprs.var("vector_block" + id++);
                        inner.add(new Stmt.For(vb, Idx.c(0), Idx.c(vs.count()), ForKind.SERIAL, tile(img, Idx.add(Idx.mul(cb, cs.size()), cs.start()),
                                cs.size(), row, Idx.add(Idx.mul(vb, vs.size()), vs.start()), vs.size(), "t" + id)));
                    }
                    Stmt rows = new Stmt.For(row, Idx.c(0), Idx.c(gm.rows()), ForKind.SERIAL, new Stmt.Seq(inner));
                    ForKind kind = parallel && cs.count() > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
                    outer.add(new Stmt.For(cb, Idx.c(0), Idx.c(cs.count()), kind, rows));
                }
                return new Stmt.Seq(outer);
            }
            Expr.Var row = Exprs.var("out_row");
            List<Stmt> inner = new ArrayList<>();
            for (Packed.Segment cs : chSegs) {
                Expr.Var cb = Exprs.var("channel_block" + id);
                List<Stmt> perBlock = new ArrayList<>();
                for (Packed.Segment vs : vecSegs) {
                    Expr.Var vb = Exprs.var("vector_block" + id++);
                    perBlock.add(new Stmt.For(vb, Idx.c(0), Idx.c(vs.count()), ForKind.SERIAL, tile(img, Idx.add(Idx.mul(cb, cs.size()), cs.start()),
                            cs.size(), row, Idx.add(Idx.mul(vb, vs.size()), vs.start()), vs.size(), "t" + id)));
                }
                inner.add(new Stmt.For(cb, Idx.c(0), Idx.c(cs.count()), ForKind.SERIAL, new Stmt.Seq(perBlock)));
            }
            ForKind kind = parallel && gm.rows() > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
            return new Stmt.For(row, Idx.c(0), Idx.c(gm.rows()), kind, new Stmt.Seq(inner));
        }

        /** One register tile: {@code r} output channels from {@code o0} by {@code v} vectors of pixels from vector {@code v0} of row {@code row}. */
        private Stmt tile(Expr img, Expr o0, long r, Expr row, Expr v0, long v, String tag) {
            int lanes = gm.lanes();
            Buffer acc = new Buffer("acc_" + tag, ScalarType.I32, r * v * lanes);
            Expr.Var c4 = Exprs.var("c4_" + tag), ky = Exprs.var("kh_" + tag), kx = Exprs.var("kw_" + tag);
            List<Stmt> init = new ArrayList<>(), out = new ArrayList<>();
            for (long e = 0; e < r * v; e++) init.add(new Stmt.Store(acc, ramp(Idx.c(e * lanes)), new Expr.Broadcast(i32(0), lanes)));
            // Tap (kh, kw) of pixel (oh, ow) reads row oh + kh*dh / Sh, column ow + kw*dw / Sw of phase (kh*dh % Sh, kw*dw % Sw).
            Expr khd = Idx.mul(ky, gm.dilH()), kwd = Idx.mul(kx, gm.dilW());
            Expr rowPhase = gm.strideH() == 1 ? Idx.c(0) : Exprs.mod(khd, Idx.c(gm.strideH()));
            Expr rowShift = gm.strideH() == 1 ? khd : Exprs.div(khd, Idx.c(gm.strideH()));
            Expr phase = gm.strideW() == 1 ? Idx.c(0) : Exprs.mod(kwd, Idx.c(gm.strideW()));
            Expr shift = gm.strideW() == 1 ? kwd : Exprs.div(kwd, Idx.c(gm.strideW()));
            Expr plane = Exprs.add(Idx.mul(Exprs.add(Idx.mul(c4, gm.strideH()), rowPhase), gm.strideW()), phase);
            Expr rowBase = Idx.mul(Exprs.add(Idx.mul(plane, gm.hq()), Exprs.add(row, rowShift)), gm.wq());
            List<Expr> xv = new ArrayList<>();
            for (long j = 0; j < v; j++) {
                Expr col = Exprs.add(Idx.mul(Idx.add(v0, j), lanes), shift);
                xv.add(new Expr.Load(xpk, ramp(Exprs.add(rowBase, col))));
            }
            List<Stmt> step = new ArrayList<>();
            long taps = gm.kh() * gm.kw();
            for (long i = 0; i < r; i++) {
                Expr wAt = Exprs.add(Idx.mul(Exprs.add(Idx.mul(Idx.add(o0, i), gm.c4()), c4), taps), Exprs.add(Idx.mul(ky, gm.kw()), kx));
                Expr wWord = new Expr.Broadcast(new Expr.Load(w, wAt), lanes);
                for (long j = 0; j < v; j++) {
                    Expr at = ramp(Idx.c((i * v + j) * lanes));
                    step.add(new Stmt.Store(acc, at, Exprs.call(Intrinsic.DOT4_U8S8, new Expr.Load(acc, at), xv.get((int) j), wWord)));
                }
            }
            Stmt taploop = new Stmt.For(kx, Idx.c(0), Idx.c(gm.kw()), gm.kw() <= 8 ? ForKind.UNROLLED : ForKind.SERIAL, new Stmt.Seq(step));
            Stmt loop = new Stmt.For(c4, Idx.c(0), Idx.c(gm.c4()), ForKind.SERIAL,
                    new Stmt.For(ky, Idx.c(0), Idx.c(gm.kh()), ForKind.SERIAL, taploop));
            for (long i = 0; i < r; i++) {
                for (long j = 0; j < v; j++) out.add(store(img, acc, (i * v + j) * lanes, Idx.add(o0, i), row, Idx.mul(Idx.add(v0, j), lanes)));
            }
            return new Stmt.Allocate(acc, new Stmt.Seq(List.of(new Stmt.Seq(init), loop, new Stmt.Seq(out))));
        }

        private Expr ramp(Expr base) {
            return new Expr.Ramp(base, Idx.c(1), gm.lanes());
        }

        /**
         * {@code y[img, o, row, ow0..] = acc - za' * sum W'[o]}: a vector store, or lane by lane past the row's end;
         * flat, lane by lane where the virtual pixel {@code oh*Wq + ow} is a real one.
         */
        private Stmt store(Expr img, Buffer acc, long accAt, Expr o, Expr row, Expr ow0) {
            int lanes = gm.lanes();
            Expr fix = Exprs.mul(za, new Expr.Load(corr, o));
            Expr.Var l = Exprs.var("lane_" + acc.name() + "_" + accAt);
            Expr one = Exprs.sub(new Expr.Load(acc, Idx.add(l, accAt)), fix);
            Expr plane = Idx.mul(Exprs.add(Idx.mul(img, gm.m()), o), gm.oh() * gm.ow());
            if (gm.flat()) {
                Expr v = Exprs.add(ow0, l), oh = Exprs.div(v, Idx.c(gm.wq())), ow = Exprs.mod(v, Idx.c(gm.wq()));
                Expr real = Exprs.and(Idx.cmp(CmpOp.LT, ow, Idx.c(gm.ow())), Idx.cmp(CmpOp.LT, oh, Idx.c(gm.oh())));
                return new Stmt.For(l, Idx.c(0), Idx.c(lanes), ForKind.SERIAL,
                        new Stmt.IfThenElse(real, new Stmt.Store(y, Exprs.add(plane, Exprs.add(Idx.mul(oh, gm.ow()), ow)), one), null));
            }
            Expr vec = Exprs.sub(new Expr.Load(acc, ramp(Idx.c(accAt))), new Expr.Broadcast(fix, lanes));
            Expr yAt = Exprs.add(plane, Exprs.add(Idx.mul(row, gm.ow()), ow0));
            Stmt full = new Stmt.Store(y, ramp(yAt), vec);
            if (gm.ow() % lanes == 0) return full;
            Stmt partial = new Stmt.For(l, Idx.c(0), Idx.c(lanes), ForKind.SERIAL,
                    new Stmt.IfThenElse(Idx.cmp(CmpOp.LT, Exprs.add(ow0, l), Idx.c(gm.ow())), new Stmt.Store(y, Exprs.add(yAt, l), one), null));
            return new Stmt.IfThenElse(Idx.cmp(CmpOp.LE, Idx.add(ow0, lanes), Idx.c(gm.ow())), full, partial);
        }
    }
}
