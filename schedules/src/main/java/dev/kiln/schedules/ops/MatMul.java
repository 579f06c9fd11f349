package dev.kiln.schedules.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MatMul (numpy semantics: batched, broadcast batch dimensions, 1-D operands) and Gemm (transA,
 * transB, alpha, beta, a broadcast C). The product is always computed as
 * {@code [batch..., M, N]}, a 1-D operand being a view with a unit M or N, so the
 * {@link Template#MATMUL} schedule sees one shape. A constant float32 B (a weight) whose N is
 * a multiple of 16 is instead packed at compile time into column panels (see
 * {@link MatMulSchedule#panelWidth}) and multiplied by the {@link Template#MATMUL_PACKED} schedule;
 * on a CPU, one of 16 columns or more that no panel divides is packed with zero columns up to a
 * multiple ({@link MatMulSchedule#paddedPanelWidth}) and its real columns copied out.
 */
final class MatMul {
    private MatMul() {}

    static void matmul(OpBuilder b) {
        long[] ad = b.inDims(0), bd = b.inDims(1);
        long[] a2 = ad.length == 1 ? new long[] {1, ad[0]} : ad;
        long[] b2 = bd.length == 1 ? new long[] {bd[0], 1} : bd;
        int ra = a2.length, rb = b2.length, rank = Math.max(ra, rb);
        long m = a2[ra - 2], k = a2[ra - 1], n = b2[rb - 1];
        long[] y = new long[rank];
        long[] ab = Broadcast.align(Arrays.copyOf(a2, ra - 2), rank - 2), bb = Broadcast.align(Arrays.copyOf(b2, rb - 2), rank - 2);
        for (int d = 0; d < rank - 2; d++) y[d] = Math.max(ab[d], bb[d]);
        y[rank - 2] = m;
        y[rank - 1] = n;
        ScalarType t = b.outType(0);
        long panel = panel(n, b.target);
        Tensor w = b.constant(1);
        if (b2.length == 2 && panel > 0 && packable(w, t)) {
            // B does not vary over the batch, so A's batch and rows are one [R, K] matrix.
            long rows = Idx.numel(ad) / k;
            Placeholder pa = b.input(0, new long[] {rows, k});
            boolean padded = n % panel != 0;
            Compute c = packedProduct(b, padded ? b.name("padded") : b.outName(0), t, pa, false, rows, k, n, w, false);
            // Padded panels: the real columns copied out of the product.
            b.output(0, padded ? Te.compute(b.outName(0), t, Te.box(rows, n), ax -> columnOf(c, ax.get(0), ax.get(1), panel)) : c);
            return;
        }
        Placeholder pa = b.input(0, a2), pb = b.input(1, b2);
        Expr.Var rk = b.reduceAxis("rk");
        Compute c = Te.compute(b.outName(0), t, Te.box(y), ax -> {
            List<Expr> ai = batchIndex(ax, a2, rank), bi = batchIndex(ax, b2, rank);
            ai.add(ax.get(rank - 2));
            ai.add(rk);
            bi.add(rk);
            bi.add(ax.get(rank - 1));
            return Te.sum(Exprs.mul(Te.read(pa, ai), Te.read(pb, bi)), List.of(rk), List.of(k));
        });
        b.tag(c, Template.MATMUL);
        b.output(0, c);
    }

    /** The batch indices of an operand of shape {@code dims} (rank >= 2), broadcast against the output's. */
    private static List<Expr> batchIndex(List<Expr.Var> ax, long[] dims, int rank) {
        List<Expr> r = new ArrayList<>();
        int off = rank - dims.length;
        for (int d = 0; d < dims.length - 2; d++) r.add(dims[d] == 1 ? Idx.c(0) : ax.get(d + off));
        return r;
    }

    static void gemm(OpBuilder b) {
        boolean ta = b.node.attrInt("transA", 0) != 0, tb = b.node.attrInt("transB", 0) != 0;
        double alpha = b.node.attrFloat("alpha", 1f), beta = b.node.attrFloat("beta", 1f);
        long[] ad = b.inDims(0), bd = b.inDims(1), y = b.outDims(0);
        long k = ta ? ad[0] : ad[1];
        ScalarType t = b.outType(0);
        Placeholder pa = b.input(0);
        boolean withC = b.node.hasInput(2) && beta != 0;
        boolean epilogue = withC || alpha != 1;
        String mmName = epilogue ? b.name("matmul") : b.outName(0);
        long panel = panel(y[1], b.target);
        Tensor w = b.constant(1);
        if (panel > 0 && packable(w, t)) {
            boolean padded = y[1] % panel != 0;
            Compute mm = packedProduct(b, padded ? b.name("matmul") : mmName, t, pa, ta, y[0], k, y[1], w, tb);
            if (!epilogue && !padded) {
                b.output(0, mm);
                return;
            }
            long[] cd = withC ? Broadcast.align(b.inDims(2), 2) : null;
            Placeholder pc = withC ? b.input(2, cd) : null;
            if (padded) {
                b.output(0, Te.compute(b.outName(0), t, Te.box(y), ax ->
                        epilogue(t, columnOf(mm, ax.get(0), ax.get(1), panel), alpha, beta, pc, cd, ax.get(0), ax.get(1))));
                return;
            }
            b.output(0, Te.compute(b.outName(0), t, Te.box(y[0], y[1] / panel, panel), ax -> {
                Expr j = Exprs.add(Idx.mul(ax.get(1), panel), ax.get(2));
                return epilogue(t, Te.read(mm, ax), alpha, beta, pc, cd, ax.get(0), j);
            }));
            return;
        }
        Placeholder pb = b.input(1);
        long lanes = k % 16 == 0 ? 16 : k % 8 == 0 ? 8 : 0;
        Compute mm;
        if (tb && lanes > 0 && k >= 2 * lanes) {
            // B is [N, K]: k is the contiguous axis of both operands, so reduce in lanes along k
            // (vector loads of A and B), then add up the lanes.
            Expr.Var ko = b.reduceAxis("rko"), rl = b.reduceAxis("rl");
            Compute partial = Te.compute(b.name("partial"), t, List.of(y[0], y[1], lanes), ax -> {
                Expr kk = Exprs.add(Idx.mul(ko, lanes), ax.get(2));
                Expr av = ta ? Te.read(pa, kk, ax.get(0)) : Te.read(pa, ax.get(0), kk);
                return Te.sum(Exprs.mul(av, Te.read(pb, ax.get(1), kk)), List.of(ko), List.of(k / lanes));
            });
            b.tag(partial, Template.RFACTOR);
            mm = Te.compute(mmName, t, Te.box(y), ax ->
                    Te.sum(Te.read(partial, ax.get(0), ax.get(1), rl), List.of(rl), List.of(lanes)));
        } else {
            Expr.Var rk = b.reduceAxis("rk");
            mm = Te.compute(mmName, t, Te.box(y), ax -> {
                Expr i = ax.get(0), j = ax.get(1);
                Expr av = ta ? Te.read(pa, rk, i) : Te.read(pa, i, rk);
                Expr bv = tb ? Te.read(pb, j, rk) : Te.read(pb, rk, j);
                return Te.sum(Exprs.mul(av, bv), List.of(rk), List.of(k));
            });
            b.tag(mm, Template.MATMUL);
        }
        if (!epilogue) {
            b.output(0, mm);
            return;
        }
        long[] cd = withC ? Broadcast.align(b.inDims(2), 2) : null;
        Placeholder pc = withC ? b.input(2, cd) : null;
        b.output(0, Te.compute(b.outName(0), t, Te.box(y), ax ->
                epilogue(t, Te.read(mm, ax), alpha, beta, pc, cd, ax.get(0), ax.get(1))));
    }

    /** {@code alpha * product + beta * C[i, j]}, C broadcast from shape {@code cd} (null: no C). */
    private static Expr epilogue(ScalarType t, Expr product, double alpha, double beta, Placeholder pc, long[] cd, Expr i, Expr j) {
        Expr r = product;
        if (alpha != 1) r = Exprs.mul(Idx.lit(t, alpha), r);
        if (pc != null) {
            Expr cv = Te.read(pc, cd[0] == 1 ? Idx.c(0) : i, cd[1] == 1 ? Idx.c(0) : j);
            r = Exprs.add(r, beta == 1 ? cv : Exprs.mul(Idx.lit(t, beta), cv));
        }
        return r;
    }

    /**
     * The panel width of a packed weight with {@code n} columns: one that divides n, else (on a
     * CPU) one that n is padded up to with zero columns; 0 when the weight stays unpacked.
     */
    private static long panel(long n, dev.kiln.targets.Target target) {
        long p = MatMulSchedule.panelWidth(n, target);
        return p > 0 || !(target instanceof dev.kiln.targets.CpuTarget) ? p : MatMulSchedule.paddedPanelWidth(n, target);
    }

    /** Column j of row i of a product computed in panels {@code [M, N/P, P]}. */
    private static Expr columnOf(Compute c, Expr i, Expr j, long panel) {
        return Te.read(c, i, Exprs.div(j, Idx.c(panel)), Exprs.mod(j, Idx.c(panel)));
    }

    private static boolean packable(Tensor w, ScalarType t) {
        return w != null && w.dtype() == DType.FLOAT32 && t == ScalarType.F32;
    }

    /**
     * {@code C[i, jo, ji] = sum_k A[i, k] * Bp[jo, k, ji]} (A read transposed when {@code ta}), where
     * Bp is the constant B packed into panels of {@link MatMulSchedule#panelWidth} columns, so the
     * kernel reads each panel's rows contiguously. {@code wTransposed}: the weight is stored [N, K].
     */
    private static Compute packedProduct(OpBuilder b, String name, ScalarType t, Placeholder pa, boolean ta,
                                         long m, long k, long n, Tensor w, boolean wTransposed) {
        long panel = panel(n, b.target), padded = (n + panel - 1) / panel * panel;
        Tensor packed = MatMulSchedule.pack(w, wTransposed, k, n, padded, panel);
        Placeholder pb = b.derivedConstant(b.node.input(1) + (wTransposed ? "__packedT" : "__packed") + panel
                + (padded == n ? "" : "_to" + padded), packed);
        Expr.Var rk = b.reduceAxis("rk");
        Compute c = Te.compute(name, t, Te.box(m, padded / panel, panel), ax -> {
            Expr av = ta ? Te.read(pa, rk, ax.get(0)) : Te.read(pa, ax.get(0), rk);
            return Te.sum(Exprs.mul(av, Te.read(pb, ax.get(1), rk, ax.get(2))), List.of(rk), List.of(k));
        });
        b.tag(c, Template.MATMUL_PACKED);
        return c;
    }
}
