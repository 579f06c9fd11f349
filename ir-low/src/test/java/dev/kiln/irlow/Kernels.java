package dev.kiln.irlow;

import static dev.kiln.irlow.ScalarType.F32;
import static dev.kiln.irlow.expr.Exprs.*;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.lower.LowerTe;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.List;
import java.util.Random;

/** The kernels the ir-low tests lower, schedule and run, with plain-Java references. */
public final class Kernels {
    private Kernels() {}

    /** C[M,N] = sum_k A[M,K] * B[K,N]. */
    public static PrimFunc matmul(long m, long n, long k) {
        Placeholder a = Te.placeholder("A", F32, m, k);
        Placeholder b = Te.placeholder("B", F32, k, n);
        Expr.Var kk = Te.reduceAxis("k");
        Compute c = Te.compute("C", F32, Te.box(m, n),
                i -> Te.sum(mul(Te.read(a, i.get(0), kk), Te.read(b, kk, i.get(1))), List.of(kk), List.of(k)));
        return LowerTe.lower("matmul", List.of(a, b), List.of(c));
    }

    public static float[] matmulRef(float[] a, float[] b, int m, int n, int k) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float acc = 0;
                for (int x = 0; x < k; x++) acc += a[i * k + x] * b[x * n + j];
                c[i * n + j] = acc;
            }
        return c;
    }

    /**
     * A 3x3 convolution with padding 1, X[C,H,W] * W[K,C,3,3] -> Y[K,H,W], the padding an
     * inlined compute (a Select whose index is clamped, since Select evaluates both sides).
     */
    public static PrimFunc conv(long c, long h, long w, long k) {
        Placeholder x = Te.placeholder("X", F32, c, h, w);
        Placeholder wt = Te.placeholder("W", F32, k, c, 3, 3);
        Compute pad = Te.compute("P", F32, Te.box(c, h + 2, w + 2), i -> {
            Expr y = sub(i.get(1), idx(1)), z = sub(i.get(2), idx(1));
            Expr inside = and(and(ge(y, idx(0)), lt(y, idx(h))), and(ge(z, idx(0)), lt(z, idx(w))));
            Expr read = Te.read(x, i.get(0), clamp(y, h), clamp(z, w));
            return select(inside, read, f32(0));
        });
        Expr.Var rc = Te.reduceAxis("rc"), rh = Te.reduceAxis("rh"), rw = Te.reduceAxis("rw");
        Compute out = Te.compute("Y", F32, Te.box(k, h, w), i -> Te.sum(
                mul(Te.read(pad, rc, add(i.get(1), rh), add(i.get(2), rw)), Te.read(wt, i.get(0), rc, rh, rw)),
                List.of(rc, rh, rw), Te.box(c, 3, 3)));
        return LowerTe.lower("conv", List.of(x, wt), List.of(out));
    }

    static Expr clamp(Expr e, long n) {
        return max(min(e, idx(n - 1)), idx(0));
    }

    public static float[] convRef(float[] x, float[] wt, int c, int h, int w, int k) {
        float[] y = new float[k * h * w];
        for (int o = 0; o < k; o++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++) {
                    float acc = 0;
                    for (int ch = 0; ch < c; ch++)
                        for (int r = 0; r < 3; r++)
                            for (int s = 0; s < 3; s++) {
                                int yy = i + r - 1, xx = j + s - 1;
                                float v = yy >= 0 && yy < h && xx >= 0 && xx < w ? x[(ch * h + yy) * w + xx] : 0f;
                                acc += v * wt[((o * c + ch) * 3 + r) * 3 + s];
                            }
                    y[(o * h + i) * w + j] = acc;
                }
        return y;
    }

    /** Row softmax of X[N,M]: two materialized reductions (max, sum) and an inlined exp. */
    public static PrimFunc softmax(long n, long m) {
        Placeholder x = Te.placeholder("X", F32, n, m);
        Expr.Var k1 = Te.reduceAxis("mx.k"), k2 = Te.reduceAxis("sum.k");
        Compute mx = Te.compute("mx", F32, Te.box(n), i -> Te.max(Te.read(x, i.get(0), k1), List.of(k1), List.of(m)));
        Compute e = Te.compute("e", F32, Te.box(n, m),
                i -> call(Intrinsic.EXP, sub(Te.read(x, i.get(0), i.get(1)), Te.read(mx, i.get(0)))));
        Compute s = Te.compute("sum", F32, Te.box(n), i -> Te.sum(Te.read(e, i.get(0), k2), List.of(k2), List.of(m)));
        Compute y = Te.compute("Y", F32, Te.box(n, m), i -> div(Te.read(e, i.get(0), i.get(1)), Te.read(s, i.get(0))));
        return LowerTe.lower("softmax", List.of(x), List.of(y));
    }

    public static float[] softmaxRef(float[] x, int n, int m) {
        float[] y = new float[n * m];
        for (int i = 0; i < n; i++) {
            float mx = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < m; j++) mx = Math.max(mx, x[i * m + j]);
            float s = 0;
            for (int j = 0; j < m; j++) s += (float) Math.exp(x[i * m + j] - mx);
            for (int j = 0; j < m; j++) y[i * m + j] = (float) Math.exp(x[i * m + j] - mx) / s;
        }
        return y;
    }

    /**
     * A GPU kernel written by hand: each of {@code blocks} blocks stages its {@code threads}
     * elements of A in shared memory, waits at a barrier, and writes them reversed and doubled
     * into B, each thread through a register. B[b*T + t] = 2 * A[b*T + T-1-t].
     */
    public static PrimFunc blockReverse(long blocks, long threads) {
        Buffer a = new Buffer("A", F32, blocks * threads), b = new Buffer("B", F32, blocks * threads);
        Buffer tile = new Buffer("tile", F32, threads, MemoryScope.SHARED), r = new Buffer("r", F32, 1, MemoryScope.REGISTER);
        Expr.Var bx = var("bx"), load = var("tx.load"), store = var("tx.store");
        Stmt stage = new Stmt.For(load, idx(0), idx(threads), ForKind.GPU_THREAD_X,
                new Stmt.Store(tile, load, new Expr.Load(a, add(mul(bx, idx(threads)), load))));
        Stmt write = new Stmt.For(store, idx(0), idx(threads), ForKind.GPU_THREAD_X, new Stmt.Allocate(r, new Stmt.Seq(List.of(
                new Stmt.Store(r, idx(0), new Expr.Load(tile, sub(idx(threads - 1), store))),
                new Stmt.Store(b, add(mul(bx, idx(threads)), store), mul(new Expr.Load(r, idx(0)), f32(2)))))));
        Stmt body = new Stmt.For(bx, idx(0), idx(blocks), ForKind.GPU_BLOCK_X,
                new Stmt.Allocate(tile, new Stmt.Seq(List.of(stage, new Stmt.Barrier(MemoryScope.SHARED), write))));
        return new PrimFunc("block_reverse", List.of(a, b), body);
    }

    public static float[] blockReverseRef(float[] a, int blocks, int threads) {
        float[] b = new float[blocks * threads];
        for (int i = 0; i < blocks; i++)
            for (int t = 0; t < threads; t++) b[i * threads + t] = 2 * a[i * threads + threads - 1 - t];
        return b;
    }

    /** Small integers as floats: sums of products stay exact whatever the summation order. */
    public static float[] randomInts(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextInt(9) - 4;
        return a;
    }

    public static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 2);
        return a;
    }
}
