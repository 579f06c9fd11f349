package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.ops.Bf16MatMul;
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
import dev.kiln.schedules.ops.Int8MatMulKernel.Tile;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.CpuTarget;
import java.util.ArrayList;
import java.util.List;

/**
 * The native kernel of {@link Bf16MatMul} on a CPU, written out as loop IR around the bf16 pair dot
 * product {@link Intrinsic#DOT2_BF16} ({@code vdpbf16ps}: 16 lanes of two bf16 products added to an
 * f32, 32 multiply-adds per instruction on AVX-512 BF16, twice an fp32 FMA's). Same structure as
 * {@link Int8MatMulKernel}, with pairs of k instead of quads and no zero points.
 *
 * <p>At compile time B is rounded to bf16 and packed into {@code [ceil(N/L)][ceil(K/2)][L]} i32
 * words, each the pair {@code B[2k][n]} (low half), {@code B[2k+1][n]} (high half), zero past N and
 * K: two bytes per weight in the library. At run time each row of A is rounded to bf16 (the loop
 * IR's cast: nearest even) and paired into {@code [M][ceil(K/2)]} words ({@link Intrinsic#PAIR_BF16},
 * 2L floats per step). Register tiles of {@code R} rows by {@code V} vectors of L columns accumulate
 * in f32; the optional bias (input 2, {@code [N]}) is added once at the end, as a MatMul followed by
 * an Add rounds it.
 *
 * <p>Knobs as the int8 kernel's: {@code tile}, {@code loop_order}, {@code k_unroll} (pairs of k per
 * trip, 1, 2 or 4 dividing K/2) and {@code parallel}.
 */
final class Bf16MatMulKernel {
    private Bf16MatMulKernel() {}

    static Kernel kernel(Node n, Graph g, CpuTarget target, Knobs knobs) {
        Shape as = g.value(n.input(0)).shape();
        Tensor w = g.initializers().get(n.input(1));
        if (w == null || w.shape().rank() != 2) throw n.error("B must be a rank-2 constant for the native bf16 kernel");
        long k = w.shape().dim(0), cols = w.shape().dim(1);
        long m = as.numel() / k;
        int lanes = target.vectorLanes(4);
        long k2 = (k + 1) / 2, panels = (cols + lanes - 1) / lanes, padded = panels * lanes;

        // Compile time: B rounded to bf16 and packed in pairs of k; the bias padded to whole vectors.
        float[] wv = w.floats();
        long[] packed = new long[Math.toIntExact(panels * k2 * lanes)];
        for (int j = 0; j < cols; j++) {
            for (int kk = 0; kk < k; kk++) {
                int word = (int) ((j / lanes * k2 + kk / 2) * lanes + j % lanes);
                long bits = Intrinsic.bf16Bits(wv[(int) (kk * cols + j)]);
                packed[word] = (int) (packed[word] | bits << (16 * (kk % 2)));
            }
        }
        String base = n.input(1) + Packed.BF16_MATMUL + lanes;
        List<String> inputs = new ArrayList<>(List.of(n.input(0),
                Packed.constant(g, n, base, Tensor.of(DType.INT32, Shape.of(panels, k2, lanes), packed))));
        Buffer pa = new Buffer("a", ScalarType.F32, m * k), pb = new Buffer("b_packed", ScalarType.I32, panels * k2 * lanes);
        List<Buffer> params = new ArrayList<>(List.of(pa, pb));
        Buffer pbias = null;
        if (n.hasInput(2)) {
            Tensor bias = g.initializers().get(n.input(2));
            if (bias == null || bias.size() != cols) throw n.error("the bias must be a constant of " + cols + " values for the native bf16 kernel");
            float[] bv = new float[(int) padded];
            System.arraycopy(bias.floats(), 0, bv, 0, (int) cols);
            inputs.add(Packed.constant(g, n, n.input(2) + "__padded" + padded, Tensor.ofFloats(Shape.of(padded), bv)));
            pbias = new Buffer("bias", ScalarType.F32, padded);
            params.add(pbias);
        }
        Buffer py = new Buffer("y", ScalarType.F32, m * cols);
        params.add(py);

        int budget = target.vectorRegisters() - target.vectorRegisters() / 8;
        List<Tile> tiles = Int8MatMulKernel.tiles(m, panels, budget);
        Tile best = Int8MatMulKernel.heuristic(tiles);
        Tile t = tiles.get(knobs.chooseOne("tile", tiles.stream().map(Tile::label).toList(), tiles.indexOf(best)));
        boolean rowsOuter = knobs.chooseOne("loop_order", List.of("panels-outer", "rows-outer"), 0) == 1;
        List<Long> unrolls = new ArrayList<>();
        for (long u : new long[] {1, 2, 4}) if (k2 % u == 0) unrolls.add(u);
        long unroll = knobs.choose("k_unroll", unrolls, 1);
        boolean parallel = DefaultSchedules.parallelKnob(knobs, 2 * m * k * cols, target);

        Layout l = new Layout(m, k, cols, k2, lanes, unroll, pa, pb, pbias, py);
        Buffer apk = new Buffer("a_packed", ScalarType.I32, m * k2);
        Stmt body = new Stmt.Allocate(apk, new Stmt.Seq(List.of(l.packA(apk), l.product(apk, t, rowsOuter, parallel, panels))));
        String name = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(name).replaceFirst("^v_", ""), params, body);
        return new Kernel(fn, inputs, List.of(n.output(0)),
                new Kernel.Info(n.name(), List.of(Bf16MatMul.OP), "bf16_matmul", "", Work.flops(n, g)));
    }

    /**
     * The same product as a tensor expression, {@code sum_k bf16(A) * bf16(B) (+ bias)} in f32,
     * scheduled as {@link Template#MATMUL}: what other targets compile (the node is only made for
     * CPUs with the bf16 dot product, but every op a CPU compiles a GPU compiles too).
     */
    static void compute(OpBuilder b) {
        long[] bd = b.inDims(1);
        long k = bd[0], cols = bd[1], m = Idx.numel(b.inDims(0)) / k;
        Placeholder pa = b.input(0, new long[] {m, k}), pb = b.input(1);
        Placeholder bias = b.node.hasInput(2) ? b.input(2, new long[] {cols}) : null;
        Expr.Var rk = b.reduceAxis("rk");
        Compute c = Te.compute(b.outName(0), ScalarType.F32, Te.box(m, cols), ax -> {
            Expr av = Exprs.cast(ScalarType.F32, Exprs.cast(ScalarType.BF16, Te.read(pa, ax.get(0), rk)));
            Expr bv = Exprs.cast(ScalarType.F32, Exprs.cast(ScalarType.BF16, Te.read(pb, rk, ax.get(1))));
            return Te.sum(Exprs.mul(av, bv), List.of(rk), List.of(k));
        });
        b.tag(c, Template.MATMUL);
        if (bias == null) {
            b.output(0, c);
            return;
        }
        Compute y = Te.compute(b.outName(0) + "_biased", ScalarType.F32, Te.box(m, cols),
                ax -> Exprs.add(Te.read(c, ax.get(0), ax.get(1)), Te.read(bias, ax.get(1))));
        b.output(0, y);
    }

    /** The kernel's buffers and extents, and the loop nests over them. */
    private record Layout(long m, long k, long cols, long k2, int lanes, long unroll, Buffer a, Buffer b, Buffer bias, Buffer y) {
        /** {@code apk[i][kt]}: A[i][2kt] and A[i][2kt+1] rounded to bf16, paired in one word (zero past K). */
        Stmt packA(Buffer apk) {
            Expr.Var i = Exprs.var("pack_row"), v = Exprs.var("pack_vec"), kt = Exprs.var("pack_pair");
            List<Stmt> perRow = new ArrayList<>();
            long pairs = k / 2, vectors = pairs / lanes;
            Expr rowA = Idx.mul(i, k), rowP = Idx.mul(i, k2);
            if (vectors > 0) {
                Expr floats = new Expr.Load(a, new Expr.Ramp(Exprs.add(rowA, Idx.mul(v, 2L * lanes)), Idx.c(1), 2 * lanes));
                perRow.add(new Stmt.For(v, Idx.c(0), Idx.c(vectors), ForKind.SERIAL, new Stmt.Store(apk,
                        new Expr.Ramp(Exprs.add(rowP, Idx.mul(v, lanes)), Idx.c(1), lanes), pair(floats, lanes))));
            }
            if (pairs % lanes != 0) {
                Expr floats = new Expr.Load(a, new Expr.Ramp(Exprs.add(rowA, Idx.mul(kt, 2)), Idx.c(1), 2));
                perRow.add(new Stmt.For(kt, Idx.c(vectors * lanes), Idx.c(pairs - vectors * lanes), ForKind.SERIAL,
                        new Stmt.Store(apk, Exprs.add(rowP, kt), pair(floats, 1))));
            }
            if (k % 2 != 0) perRow.add(new Stmt.Store(apk, Idx.add(rowP, pairs), pair(new Expr.Load(a, Idx.add(rowA, k - 1)), 1)));
            return new Stmt.For(i, Idx.c(0), Idx.c(m), ForKind.SERIAL, new Stmt.Seq(perRow));
        }

        /** f32 lanes rounded to bf16 and paired into {@code words} i32 lanes. */
        private static Expr pair(Expr floats, int words) {
            return new Expr.Call(Type.I32.withLanes(words), Intrinsic.PAIR_BF16, List.of(Exprs.cast(ScalarType.BF16, floats)));
        }

        /** Every tile of the product: row blocks and panel blocks, each with its tail, in the chosen order. */
        Stmt product(Buffer apk, Tile t, boolean rowsOuter, boolean parallel, long panels) {
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
                    Stmt tile = tile(apk, Idx.add(Idx.mul(rv, rs.size()), rs.start()), rs.size(),
                            Idx.add(Idx.mul(pv, ps.size()), ps.start()), ps.size(), "t" + id);
                    inner.add(new Stmt.For(iv, Idx.c(0), Idx.c(in.count()), ForKind.SERIAL, tile));
                }
                ForKind kind = parallel && o.count() > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
                outer.add(new Stmt.For(ov, Idx.c(0), Idx.c(o.count()), kind, new Stmt.Seq(inner)));
            }
            return new Stmt.Seq(outer);
        }

        /** One register tile: {@code r} rows from {@code row0} by {@code v} vectors of columns from panel {@code panel0}. */
        private Stmt tile(Buffer apk, Expr row0, long r, Expr panel0, long v, String tag) {
            Buffer acc = new Buffer("acc_" + tag, ScalarType.F32, r * v * lanes);
            Expr.Var ko = Exprs.var("k2o_" + tag), ki = Exprs.var("k2i_" + tag);
            Expr kt = unroll == 1 ? ko : Exprs.add(Idx.mul(ko, unroll), ki);
            List<Stmt> init = new ArrayList<>(), step = new ArrayList<>(), out = new ArrayList<>();
            for (long x = 0; x < r * v; x++)
                init.add(new Stmt.Store(acc, ramp(Idx.c(x * lanes)), new Expr.Broadcast(Exprs.f32(0), lanes)));
            for (long i = 0; i < r; i++) {
                Expr aWord = new Expr.Broadcast(new Expr.Load(apk, Exprs.add(Idx.mul(Idx.add(row0, i), k2), kt)), lanes);
                for (long j = 0; j < v; j++) {
                    Expr bIndex = Idx.mul(Exprs.add(Idx.mul(Idx.add(panel0, j), k2), kt), lanes);
                    Expr at = ramp(Idx.c((i * v + j) * lanes));
                    step.add(new Stmt.Store(acc, at, Exprs.call(Intrinsic.DOT2_BF16, new Expr.Load(acc, at), aWord,
                            new Expr.Load(b, ramp(bIndex)))));
                }
            }
            for (long i = 0; i < r; i++) {
                Expr row = Idx.add(row0, i);
                for (long j = 0; j < v; j++) out.add(store(acc, (i * v + j) * lanes, row, Idx.mul(Idx.add(panel0, j), lanes)));
            }
            Stmt steps = new Stmt.Seq(step);
            if (unroll > 1) steps = new Stmt.For(ki, Idx.c(0), Idx.c(unroll), ForKind.UNROLLED, steps);
            Stmt loop = new Stmt.For(ko, Idx.c(0), Idx.c(k2 / unroll), ForKind.SERIAL, steps);
            return new Stmt.Allocate(acc, new Stmt.Seq(List.of(new Stmt.Seq(init), loop, new Stmt.Seq(out))));
        }

        private Expr ramp(Expr base) {
            return new Expr.Ramp(base, Idx.c(1), lanes);
        }

        /** {@code y[row, col0..] = acc (+ bias)}: a vector store, or lane by lane for the last, partial panel. */
        private Stmt store(Buffer acc, long accAt, Expr row, Expr col0) {
            Expr vec = new Expr.Load(acc, ramp(Idx.c(accAt)));
            if (bias != null) vec = Exprs.add(vec, new Expr.Load(bias, ramp(col0)));
            Expr yAt = Exprs.add(Idx.mul(row, cols), col0);
            Stmt full = new Stmt.Store(y, ramp(yAt), vec);
            if (cols % lanes == 0) return full;
            Expr.Var l = Exprs.var("lane_" + acc.name() + "_" + accAt);
            Expr col = Exprs.add(col0, l);
            Expr one = new Expr.Load(acc, Idx.add(l, accAt));
            if (bias != null) one = Exprs.add(one, new Expr.Load(bias, col));
            Stmt partial = new Stmt.For(l, Idx.c(0), Idx.c(lanes), ForKind.SERIAL,
                    new Stmt.IfThenElse(Idx.cmp(CmpOp.LT, col, Idx.c(cols)), new Stmt.Store(y, Exprs.add(yAt, l), one), null));
            return new Stmt.IfThenElse(Idx.cmp(CmpOp.LE, Idx.add(col0, lanes), Idx.c(cols)), full, partial);
        }
    }
}
