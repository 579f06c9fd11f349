package dev.kiln.schedules.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Int8MatMul;
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
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import java.util.ArrayList;
import java.util.List;

/**
 * The native kernel of {@link Int8MatMul} on a CPU, written out as loop IR around the 4-way byte
 * dot product {@link Intrinsic#DOT4_U8S8} ({@code vpdpbusd}: 16 lanes of u8 x s8 sums, 64
 * multiply-adds per instruction on AVX-512 VNNI).
 *
 * <p>The operands are made unsigned x signed: A' = A (uint8) or A + 128 (int8), B' = B (int8) or
 * B - 128 (uint8), with zero points shifted alike (za', zb'), so {@code A - za = A' - za'} and
 * {@code B - zb = B' - zb'}. Then, exactly in wrapping int32,
 * {@code C = A'B' - zb'[n] * rowsum(A')[m] + za' * (K * zb'[n] - colsum(B')[n])}: the last factor
 * is a compile-time constant per column, the row sums are taken while A is packed.
 *
 * <p>At compile time B' is packed into {@code [ceil(N/L)][ceil(K/4)][L]} words of 4 bytes
 * ({@code [N/L][K/4][L][4]} bytes: still one byte per weight), zero past N and K; L is the i32
 * lanes of the target's vector. At run time A' is packed into {@code [M][ceil(K/4)]} words, zero
 * past K. The product runs in register tiles of {@code R} rows by {@code V} vectors of L columns:
 * per 4 steps of k, V vector loads of B, R broadcasts of A, R*V dot products.
 *
 * <p>Knobs: {@code tile} ({@code RxV}, every tile whose accumulators leave an eighth of the vector
 * registers free; default the most dot products per load), {@code loop_order} ({@code panels-outer}:
 * a panel of B stays in cache while every row block runs over it; {@code rows-outer}: a block of A
 * rows stays while every panel runs), {@code k_unroll} (steps of 4 k per trip of the k loop, among
 * 1, 2, 4 dividing K/4; default 1: 2 and 4 measured no different on Zen 5) and {@code parallel} (the
 * outer loop across cores). Every value is correct: tails of rows and panels get their own smaller tiles.
 */
final class Int8MatMulKernel {
    private Int8MatMulKernel() {}

    /** A tile shape: R rows by V vectors. */
    record Tile(long rows, long vecs) {
        String label() {
            return rows + "x" + vecs;
        }
    }

    static Kernel kernel(Node n, Graph g, CpuTarget target, Knobs knobs) {
        Shape as = g.value(n.input(0)).shape();
        Tensor w = g.initializers().get(n.input(1));
        if (w == null || w.shape().rank() != 2) throw n.error("B must be a rank-2 constant for the native int8 kernel");
        long k = w.shape().dim(0), cols = w.shape().dim(1);
        long m = as.numel() / k;
        boolean aSigned = g.value(n.input(0)).dtype() == DType.INT8;
        ScalarType at = OpBuilder.scalar(g.value(n.input(0)).dtype());
        int lanes = target.vectorLanes(4);
        long k4 = (k + 3) / 4, panels = (cols + lanes - 1) / lanes, padded = panels * lanes;

        // Compile-time constants: B' packed, zb' and K * zb' - colsum(B') per column.
        Tensor zbT = n.hasInput(3) ? g.initializers().get(n.input(3)) : null;
        if (n.hasInput(3) && zbT == null) throw n.error("b_zero_point must be a constant for the native int8 kernel");
        boolean bSigned = w.dtype() == DType.INT8;
        long[] packed = new long[Math.toIntExact(panels * k4 * lanes)];
        long[] zb = new long[(int) padded], corr = new long[(int) padded];
        for (int j = 0; j < cols; j++) {
            long z = (zbT == null ? 0 : zbT.getLong(zbT.size() == 1 ? 0 : j)) - (bSigned ? 0 : 128);
            long colsum = 0;
            for (int kk = 0; kk < k; kk++) {
                long b = w.getLong((int) (kk * cols + j)) - (bSigned ? 0 : 128);
                colsum += b;
                int word = (int) ((j / lanes * k4 + kk / 4) * lanes + j % lanes);
                packed[word] = (int) (packed[word] | (b & 0xff) << (8 * (kk % 4)));
            }
            zb[j] = z;
            corr[j] = (int) (k * z - colsum);
        }
        String base = n.input(1) + Packed.INT8_MATMUL + lanes, zbName = n.hasInput(3) ? n.input(3) : "none";
        List<String> inputs = new ArrayList<>(List.of(n.input(0),
                Packed.constant(g, n, base, Tensor.of(DType.INT32, Shape.of(panels, k4, lanes), packed)),
                Packed.constant(g, n, base + "_zb_" + zbName, Tensor.of(DType.INT32, Shape.of(padded), zb)),
                Packed.constant(g, n, base + "_corr_" + zbName, Tensor.of(DType.INT32, Shape.of(padded), corr))));
        Buffer pa = new Buffer("a", at, m * k), pb = new Buffer("b_packed", ScalarType.I32, panels * k4 * lanes);
        Buffer pzb = new Buffer("b_zero_point", ScalarType.I32, padded), pcorr = new Buffer("column_correction", ScalarType.I32, padded);
        List<Buffer> params = new ArrayList<>(List.of(pa, pb, pzb, pcorr));
        Buffer pza = null;
        if (n.hasInput(2)) {
            pza = new Buffer("a_zero_point", at, 1);
            params.add(pza);
            inputs.add(n.input(2));
        }
        Buffer py = new Buffer("y", ScalarType.I32, m * cols);
        params.add(py);

        // Knobs: declared from the workload only.
        int budget = target.vectorRegisters() - target.vectorRegisters() / 8;
        List<Tile> tiles = tiles(m, panels, budget);
        Tile best = heuristic(tiles);
        Tile t = tiles.get(knobs.chooseOne("tile", tiles.stream().map(Tile::label).toList(), tiles.indexOf(best)));
        boolean rowsOuter = knobs.chooseOne("loop_order", List.of("panels-outer", "rows-outer"), 0) == 1;
        List<Long> unrolls = new ArrayList<>();
        for (long u : new long[] {1, 2, 4}) if (k4 % u == 0) unrolls.add(u);
        long unroll = knobs.choose("k_unroll", unrolls, 1);
        boolean parallel = DefaultSchedules.parallelKnob(knobs, 2 * m * k * cols, target);

        Layout l = new Layout(m, k, cols, k4, lanes, unroll, pa, pb, pzb, pcorr, py, aSigned);
        Buffer apk = new Buffer("a_packed", ScalarType.I32, m * k4), rows = new Buffer("a_row_sum", ScalarType.I32, m);
        Expr.Var za = new Expr.Var("za", Type.I32);
        Expr zaValue = pza == null ? i32(0) : Exprs.cast(ScalarType.I32, new Expr.Load(pza, Idx.c(0)));
        if (aSigned) zaValue = Exprs.add(zaValue, i32(128));
        Stmt product = l.product(apk, rows, za, t, rowsOuter, parallel, panels);
        Stmt body = new Stmt.Allocate(apk, new Stmt.Allocate(rows, new Stmt.Seq(List.of(l.packA(apk, rows),
                new Stmt.LetStmt(za, zaValue, product)))));
        String name = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(name).replaceFirst("^v_", ""), params, body);
        return new Kernel(fn, inputs, List.of(n.output(0)),
                new Kernel.Info(n.name(), List.of(Int8MatMul.OP), "int8_matmul", "", Work.flops(n, g)));
    }

    /**
     * The same product as a tensor expression, {@code sum_k (A - za) * (B - zb)} widened to int32 and
     * scheduled as {@link Template#MATMUL}: what targets other than CPUs compile (this node is only
     * made for CPUs, but every op a CPU compiles a GPU compiles too).
     */
    static void compute(OpBuilder b) {
        long[] bd = b.inDims(1);
        long k = bd[0], cols = bd[1], m = Idx.numel(b.inDims(0)) / k;
        Placeholder pa = b.input(0, new long[] {m, k}), pb = b.input(1);
        Placeholder pza = b.node.hasInput(2) ? b.input(2, new long[] {1}) : null;
        Placeholder pzb = b.node.hasInput(3) ? b.input(3, new long[] {b.in(3).shape().numel()}) : null;
        boolean perColumn = pzb != null && b.in(3).shape().numel() > 1;
        Expr.Var rk = b.reduceAxis("rk");
        Compute c = Te.compute(b.outName(0), ScalarType.I32, Te.box(m, cols), ax -> {
            Expr av = Exprs.cast(ScalarType.I32, Te.read(pa, ax.get(0), rk));
            Expr bv = Exprs.cast(ScalarType.I32, Te.read(pb, rk, ax.get(1)));
            if (pza != null) av = Exprs.sub(av, Exprs.cast(ScalarType.I32, Te.read(pza, Idx.c(0))));
            if (pzb != null) bv = Exprs.sub(bv, Exprs.cast(ScalarType.I32, Te.read(pzb, perColumn ? ax.get(1) : Idx.c(0))));
            return Te.sum(Exprs.mul(av, bv), List.of(rk), List.of(k));
        });
        b.tag(c, Template.MATMUL);
        b.output(0, c);
    }

    /** The tiles whose accumulators fit {@code budget} registers, rows and vectors capped by the extents. */
    static List<Tile> tiles(long m, long panels, int budget) {
        List<Tile> r = new ArrayList<>();
        for (long rows : new long[] {1, 2, 3, 4, 6, 8}) {
            if (rows > Math.max(1, m)) continue;
            for (long v = 1; v <= 4 && v <= panels; v++) if (rows * v <= budget) r.add(new Tile(rows, v));
        }
        return r;
    }

    /** The most dot products per load ({@code R*V / (R+V)}), then the larger tile. */
    static Tile heuristic(List<Tile> tiles) {
        Tile best = null;
        double bestScore = -1;
        for (Tile t : tiles) {
            double score = (double) (t.rows() * t.vecs()) / (t.rows() + t.vecs()) + 1e-3 * t.rows() * t.vecs();
            if (score > bestScore) {
                bestScore = score;
                best = t;
            }
        }
        return best;
    }

    private static Expr i32(long v) {
        return Exprs.intImm(ScalarType.I32, v);
    }

    /** The kernel's buffers and extents, and the loop nests over them. */
    private record Layout(long m, long k, long cols, long k4, int lanes, long unroll, Buffer a, Buffer b, Buffer zb, Buffer corr, Buffer y,
                          boolean aSigned) {
        /** Byte k of row m of A as the unsigned A' in i32. */
        private Expr unsignedA(Expr row, long kk) {
            return unsignedA(Exprs.add(Idx.mul(row, k), Idx.c(kk)));
        }

        private Expr unsignedA(Expr index) {
            Expr v = Exprs.cast(ScalarType.I32, new Expr.Load(a, index));
            return aSigned ? Exprs.add(v, i32(128)) : v;
        }

        /** {@code apk[m][kt]}: bytes 4kt.. of row m of A' as one little-endian word (zero past K); {@code rows[m]}: the row's sum. */
        Stmt packA(Buffer apk, Buffer rows) {
            Expr.Var i = Exprs.var("pack_row"), kt = Exprs.var("pack_k"), kk = Exprs.var("sum_k");
            List<Stmt> perRow = new ArrayList<>();
            long full = k / 4;
            if (full > 0) {
                Expr word = null;
                for (int j = 0; j < 4; j++) {
                    Expr byteJ = unsignedA(Exprs.add(Idx.mul(i, k), Idx.add(Idx.mul(kt, 4), j)));
                    Expr shifted = j == 0 ? byteJ : Exprs.mul(byteJ, i32(1L << (8 * j)));
                    word = word == null ? shifted : new Expr.Or(word, shifted);
                }
                perRow.add(new Stmt.For(kt, Idx.c(0), Idx.c(full), ForKind.SERIAL,
                        new Stmt.Store(apk, Exprs.add(Idx.mul(i, k4), kt), word)));
            }
            if (k % 4 != 0) {
                Expr word = null;
                for (long j = 0; j < k % 4; j++) {
                    Expr byteJ = unsignedA(i, full * 4 + j);
                    Expr shifted = j == 0 ? byteJ : Exprs.mul(byteJ, i32(1L << (8 * j)));
                    word = word == null ? shifted : new Expr.Or(word, shifted);
                }
                perRow.add(new Stmt.Store(apk, Idx.add(Idx.mul(i, k4), full), word));
            }
            perRow.add(new Stmt.Store(rows, i, i32(0)));
            perRow.add(new Stmt.For(kk, Idx.c(0), Idx.c(k), ForKind.SERIAL, new Stmt.Store(rows, i,
                    Exprs.add(new Expr.Load(rows, i), unsignedA(Exprs.add(Idx.mul(i, k), kk))))));
            return new Stmt.For(i, Idx.c(0), Idx.c(m), ForKind.SERIAL, new Stmt.Seq(perRow));
        }

        /** Every tile of the product: row blocks and panel blocks, each with its tail, in the chosen order. */
        Stmt product(Buffer apk, Buffer rows, Expr za, Tile t, boolean rowsOuter, boolean parallel, long panels) {
            List<Packed.Segment> rowSegs = Packed.segments(m, t.rows()), panelSegs = Packed.segments(panels, t.vecs());
            List<Stmt> outer = new ArrayList<>();
            int id = 0;
            for (Packed.Segment o : rowsOuter ? rowSegs : panelSegs) {
                Expr.Var ov = Exprs.var((rowsOuter ? "row_block" : "panel_block") + id);
                List<Stmt> inner = new ArrayList<>();
                for (Packed.Segment in : rowsOuter ? panelSegs : rowSegs) {
                    Expr.Var iv = Exprs.var((rowsOuter ? "panel_block" : "row_block") + id++);
                    Packed.Segment rs = rowsOuter ? o : in, ps = rowsOuter ? in : o;
                    Expr.Var rv = rowsOuter ? ov : iv, pv = rowsOuter ? iv : ov;
                    Stmt tile = tile(apk, rows, za, Idx.add(Idx.mul(rv, rs.size()), rs.start()), rs.size(),
                            Idx.add(Idx.mul(pv, ps.size()), ps.start()), ps.size(), "t" + id);
                    inner.add(new Stmt.For(iv, Idx.c(0), Idx.c(in.count()), ForKind.SERIAL, tile));
                }
                ForKind kind = parallel && o.count() > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
                outer.add(new Stmt.For(ov, Idx.c(0), Idx.c(o.count()), kind, new Stmt.Seq(inner)));
            }
            return new Stmt.Seq(outer);
        }

        /** One register tile: {@code r} rows from {@code row0} by {@code v} vectors of columns from panel {@code panel0}. */
        private Stmt tile(Buffer apk, Buffer rows, Expr za, Expr row0, long r, Expr panel0, long v, String tag) {
            Buffer acc = new Buffer("acc_" + tag, ScalarType.I32, r * v * lanes);
            // k4 = ko * unroll + ki, ki unrolled: the steps of one trip share the loop's overhead.
            Expr.Var ko = Exprs.var("k4o_" + tag), ki = Exprs.var("k4i_" + tag);
            Expr kt = unroll == 1 ? ko : Exprs.add(Idx.mul(ko, unroll), ki);
            List<Stmt> init = new ArrayList<>(), step = new ArrayList<>(), out = new ArrayList<>();
            for (long x = 0; x < r * v; x++) init.add(new Stmt.Store(acc, ramp(Idx.c(x * lanes)), new Expr.Broadcast(i32(0), lanes)));
            for (long i = 0; i < r; i++) {
                Expr aWord = new Expr.Broadcast(new Expr.Load(apk, Exprs.add(Idx.mul(Idx.add(row0, i), k4), kt)), lanes);
                for (long j = 0; j < v; j++) {
                    Expr bIndex = Idx.mul(Exprs.add(Idx.mul(Idx.add(panel0, j), k4), kt), lanes);
                    Expr at = ramp(Idx.c((i * v + j) * lanes));
                    step.add(new Stmt.Store(acc, at, Exprs.call(Intrinsic.DOT4_U8S8, new Expr.Load(acc, at), aWord,
                            new Expr.Load(b, ramp(bIndex)))));
                }
            }
            for (long i = 0; i < r; i++) {
                Expr row = Idx.add(row0, i);
                for (long j = 0; j < v; j++) {
                    Expr col0 = Idx.mul(Idx.add(panel0, j), lanes);
                    out.add(store(acc, (i * v + j) * lanes, row, col0, rows, za));
                }
            }
            Stmt steps = new Stmt.Seq(step);
            if (unroll > 1) steps = new Stmt.For(ki, Idx.c(0), Idx.c(unroll), ForKind.UNROLLED, steps);
            Stmt loop = new Stmt.For(ko, Idx.c(0), Idx.c(k4 / unroll), ForKind.SERIAL, steps);
            return new Stmt.Allocate(acc, new Stmt.Seq(List.of(new Stmt.Seq(init), loop, new Stmt.Seq(out))));
        }

        private Expr ramp(Expr base) {
            return new Expr.Ramp(base, Idx.c(1), lanes);
        }

        /** {@code y[row, col0..] = acc - zb' * rowsum + za' * corr}: a vector store, or lane by lane for the last, partial panel. */
        private Stmt store(Buffer acc, long accAt, Expr row, Expr col0, Buffer rows, Expr za) {
            Expr rowSum = new Expr.Load(rows, row);
            Expr vec = Exprs.add(Exprs.sub(new Expr.Load(acc, ramp(Idx.c(accAt))),
                    Exprs.mul(new Expr.Broadcast(rowSum, lanes), new Expr.Load(zb, ramp(col0)))),
                    Exprs.mul(new Expr.Broadcast(za, lanes), new Expr.Load(corr, ramp(col0))));
            Expr yAt = Exprs.add(Idx.mul(row, cols), col0);
            Stmt full = new Stmt.Store(y, ramp(yAt), vec);
            if (cols % lanes == 0) return full;
            Expr.Var l = Exprs.var("lane_" + acc.name() + "_" + accAt);
            Expr col = Exprs.add(col0, l);
            Expr one = Exprs.add(Exprs.sub(new Expr.Load(acc, Idx.add(l, accAt)), Exprs.mul(rowSum, new Expr.Load(zb, col))),
                    Exprs.mul(za, new Expr.Load(corr, col)));
            Stmt partial = new Stmt.For(l, Idx.c(0), Idx.c(lanes), ForKind.SERIAL,
                    new Stmt.IfThenElse(Idx.cmp(CmpOp.LT, col, Idx.c(cols)), new Stmt.Store(y, Exprs.add(yAt, l), one), null));
            return new Stmt.IfThenElse(Idx.cmp(CmpOp.LE, Idx.add(col0, lanes), Idx.c(cols)), full, partial);
        }
    }
}
