package dev.kiln.codegen.llvm;

import static dev.kiln.codegen.llvm.KernelCodegenTest.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Every math intrinsic over dense input ranges and the special values, scalar and in 16-lane
 * vectors, against java.lang.Math in double precision (and a precise erf written here). Errors
 * are measured in units in the last place of the correctly rounded result.
 */
class MathAccuracyTest {
    static final double[] SPECIALS = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0, 1, -1,
            Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE};

    /** Runs {@code fn} on the inputs as scalar and 16-lane kernels (or 8-lane for f64); returns both outputs. */
    static double[][] run(Intrinsic fn, ScalarType t, double[] x, double[] y) {
        return run(fn, t, x, y, null);
    }

    /** As above; a non-null {@code constY} is the second argument as a constant in the IR. */
    static double[][] run(Intrinsic fn, ScalarType t, double[] x, double[] y, Double constY) {
        int lanes = t == ScalarType.F64 ? 8 : 16;
        int n = (x.length + lanes - 1) / lanes * lanes;
        Buffer bx = new Buffer("x", t, n), by = new Buffer("y", t, n), out1 = new Buffer("s", t, n), outv = new Buffer("v", t, n);
        Expr.Var i = var("i"), io = var("io");
        Expr vi = new Expr.Ramp(mul(io, idx(lanes)), idx(1), lanes);
        Stmt body = seq(
                loop(i, n, ForKind.SERIAL, new Stmt.Store(out1, i, call(fn, t, 1, new Expr.Load(bx, i),
                        constY == null ? new Expr.Load(by, i) : new Expr.FloatImm(Type.of(t), constY)))),
                loop(io, n / lanes, ForKind.SERIAL, new Stmt.Store(outv, vi, call(fn, t, lanes, new Expr.Load(bx, vi),
                        constY == null ? new Expr.Load(by, vi) : new Expr.Broadcast(new Expr.FloatImm(Type.of(t), constY), lanes)))));
        String name = "math_" + fn + "_" + t;
        try (Jit jit = Jit.compile(TARGET, new PrimFunc(name, List.of(bx, by, out1, outv), body)); Arena arena = Arena.ofConfined()) {
            MemorySegment sx = Mem.alloc(arena, t, n), sy = Mem.alloc(arena, t, n), s1 = Mem.alloc(arena, t, n), sv = Mem.alloc(arena, t, n);
            for (int k = 0; k < n; k++) {
                Mem.setDouble(sx, t, k, k < x.length ? x[k] : 1);
                Mem.setDouble(sy, t, k, y != null && k < y.length ? y[k] : 1);
            }
            jit.call(name, 1, sx, sy, s1, sv);
            double[][] r = new double[2][x.length];
            for (int k = 0; k < x.length; k++) {
                r[0][k] = Mem.getDouble(s1, t, k);
                r[1][k] = Mem.getDouble(sv, t, k);
            }
            return r;
        }
    }

    private static Expr call(Intrinsic fn, ScalarType t, int lanes, Expr x, Expr y) {
        Type type = new Type(t, lanes);
        return new Expr.Call(type, fn, fn == Intrinsic.POW || fn == Intrinsic.ATAN2 ? List.of(x, y) : List.of(x));
    }

    /** Values representable in t (inputs are rounded to t before the reference sees them). */
    static double[] round(ScalarType t, double[] v) {
        double[] r = new double[v.length];
        for (int k = 0; k < v.length; k++) r[k] = CastTest.roundTo(t, v[k]);
        return r;
    }

    static double[] range(double lo, double hi, int n, double... extra) {
        double[] r = new double[n + extra.length + SPECIALS.length];
        for (int k = 0; k < n; k++) r[k] = lo + (hi - lo) * k / (n - 1);
        System.arraycopy(extra, 0, r, n, extra.length);
        System.arraycopy(SPECIALS, 0, r, n + extra.length, SPECIALS.length);
        return r;
    }

    /** Positive floats across every binade, subnormals included. */
    static double[] allBinades(int n) {
        double[] r = new double[n + SPECIALS.length];
        long step = 0x7f7fffffL / n;
        for (int k = 0; k < n; k++) r[k] = Float.intBitsToFloat((int) (1 + k * step));
        System.arraycopy(SPECIALS, 0, r, n, SPECIALS.length);
        return r;
    }

    /** Largest error in ulps of t over the inputs; NaN must match NaN, infinities and zeros exactly. */
    static double maxUlps(String what, ScalarType t, double[] x, double[] y, double[] got, DoubleBinaryOperator ref) {
        double worst = 0;
        String at = "";
        for (int k = 0; k < x.length; k++) {
            double want = ref.applyAsDouble(x[k], y == null ? 0 : y[k]);
            double w = CastTest.roundTo(t, want);
            String where = what + "(" + x[k] + (y == null ? "" : ", " + y[k]) + ") = " + got[k] + ", want " + want;
            if (Double.isNaN(want)) {
                assertTrue(Double.isNaN(got[k]), where);
                continue;
            }
            if (Double.isInfinite(w) || w == 0) {
                if (Double.isInfinite(w)) assertEquals(w, got[k], where);
                else assertTrue(Math.abs(got[k]) <= ulp(t, 0), where);
                continue;
            }
            assertFalse(Double.isNaN(got[k]) || Double.isInfinite(got[k]), where);
            double e = Math.abs(got[k] - want) / ulp(t, w);
            if (e > worst) {
                worst = e;
                at = where;
            }
        }
        System.out.printf("%-14s %s max error %.2f ulp at %s%n", what, t, worst, at);
        return worst;
    }

    static double ulp(ScalarType t, double v) {
        return switch (t) {
            case F64 -> Math.ulp(v);
            case F32 -> Math.ulp((float) v);
            default -> Math.max(Math.ulp(Float.float16ToFloat(Float.floatToFloat16((float) v))) * 8192, 0x1p-24);
        };
    }

    static void check(Intrinsic fn, ScalarType t, double[] xs, double[] ys, DoubleBinaryOperator ref, double maxUlps) {
        double[] x = round(t, xs), y = ys == null ? null : round(t, ys);
        double[][] got = run(fn, t, x, y);
        assertTrue(maxUlps(fn + " scalar", t, x, y, got[0], ref) <= maxUlps, fn + " " + t + " scalar error above " + maxUlps + " ulp");
        assertTrue(maxUlps(fn + " vector", t, x, y, got[1], ref) <= maxUlps, fn + " " + t + " vector error above " + maxUlps + " ulp");
    }

    static void check(Intrinsic fn, ScalarType t, double[] xs, DoubleUnaryOperator ref, double maxUlps) {
        check(fn, t, xs, null, (a, b) -> ref.applyAsDouble(a), maxUlps);
    }

    // ---- Kiln's own float32 implementations: about 2e-7 relative, i.e. at most ~2.5 ulp

    @Test
    void exp() {
        check(Intrinsic.EXP, ScalarType.F32, range(-110, 95, 400_001, 88.72283, 88.72284, -87.33654, -103.97, 1e-8, -1e-8),
                Math::exp, 2.5);
    }

    @Test
    void log() {
        check(Intrinsic.LOG, ScalarType.F32, allBinades(400_000), Math::log, 2.5);
        check(Intrinsic.LOG, ScalarType.F32, range(0.5, 2, 200_001, -1, -1e-30), Math::log, 2.5);
    }

    @Test
    void tanh() {
        check(Intrinsic.TANH, ScalarType.F32, range(-12, 12, 400_001, 1e-30, -1e-30, 1e-6, 0.625, -0.625, 0.6249999, 50),
                Math::tanh, 2.5);
    }

    @Test
    void erf() {
        check(Intrinsic.ERF, ScalarType.F32, range(-6, 6, 400_001, 1e-30, -1e-30, 1e-6, 0.9999999, 1.0000001, 3.9, 4.1),
                MathAccuracyTest::erfRef, 2.5);
    }

    @Test
    void sigmoid() {
        check(Intrinsic.SIGMOID, ScalarType.F32, range(-110, 110, 400_001, 1e-30, -87, -100), x -> 1 / (1 + Math.exp(-x)), 2.5);
    }

    @Test
    void pow() {
        List<double[]> pairs = new ArrayList<>();
        for (int a = 0; a <= 200; a++) {
            double x = Math.pow(10, -3 + 6.0 * a / 200);
            for (int b = 0; b <= 200; b++) pairs.add(new double[] {x, -10 + 20.0 * b / 200});
        }
        for (double x : new double[] {-3.5, -2, -1, -0.5, -0.0, 0.0, 1, 2, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN})
            for (double y : new double[] {-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 7, 2.5, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN})
                if (!(Math.abs(x) == 1 && (Double.isInfinite(y) || Double.isNaN(y)))) pairs.add(new double[] {x, y}); // Java and C differ there
        double[] x = new double[pairs.size()], y = new double[pairs.size()];
        for (int k = 0; k < x.length; k++) { x[k] = pairs.get(k)[0]; y[k] = pairs.get(k)[1]; }
        // The error grows with |y log x| (the log's error is scaled by it): allow that much more.
        double[] xr = round(ScalarType.F32, x), yr = round(ScalarType.F32, y);
        double[][] got = run(Intrinsic.POW, ScalarType.F32, xr, yr);
        for (double[] g : got) {
            for (int k = 0; k < x.length; k++) {
                double want = Math.pow(xr[k], yr[k]);
                String where = "pow(" + xr[k] + ", " + yr[k] + ") = " + g[k] + ", want " + want;
                if (Double.isNaN(want)) { assertTrue(Double.isNaN(g[k]), where); continue; }
                float w = (float) want;
                if (Float.isInfinite(w) || w == 0) { assertEquals(Math.abs(w), Math.abs(g[k]), where); assertEquals(Math.signum(w), Math.signum(g[k]), where); continue; }
                double scale = Math.abs(yr[k] * Math.log(Math.abs(xr[k])));
                double allowed = 2.5 + (Double.isFinite(scale) ? 1.5 * scale : 0);
                assertTrue(Math.abs(g[k] - want) / Math.ulp(w) <= allowed, where);
            }
        }
        // Constant exponents take shortcuts: multiplies (one rounding each), a division, a square root.
        double[] bases = round(ScalarType.F32, range(-50, 50, 10_001, -0.0));
        for (double e : new double[] {0, 1, 2, 3, 4, -1, -2, 0.5, -0.5}) {
            double[][] r = run(Intrinsic.POW, ScalarType.F32, bases, null, e);
            for (int v = 0; v < 2; v++) {
                double[] ys = new double[bases.length];
                java.util.Arrays.fill(ys, e);
                assertTrue(maxUlps("POW ^" + e, ScalarType.F32, bases, ys, r[v], Math::pow) <= (e == 4 ? 2.0 : e == 3 || e == -2 || e == -0.5 ? 1.5 : 0.5));
            }
        }
    }

    // ---- LLVM intrinsics: exact

    @Test
    void roundingSqrtAbs() {
        double[] x = range(-1000, 1000, 100_001, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e30, -1e30);
        check(Intrinsic.FLOOR, ScalarType.F32, x, Math::floor, 0);
        check(Intrinsic.CEIL, ScalarType.F32, x, Math::ceil, 0);
        check(Intrinsic.ROUND_EVEN, ScalarType.F32, x, Math::rint, 0);
        check(Intrinsic.ABS, ScalarType.F32, x, Math::abs, 0);
        check(Intrinsic.SQRT, ScalarType.F32, allBinades(100_000), Math::sqrt, 0.5);
        check(Intrinsic.SQRT, ScalarType.F64, range(0, 1e6, 100_001), Math::sqrt, 0.5);
        check(Intrinsic.ROUND_EVEN, ScalarType.F64, x, Math::rint, 0);
    }

    // ---- libm, one call per lane

    @Test
    void libmFunctionsFloat32() {
        ScalarType f = ScalarType.F32;
        check(Intrinsic.SIN, f, range(-100, 100, 50_001), Math::sin, 2.0);
        check(Intrinsic.COS, f, range(-100, 100, 50_001), Math::cos, 2.0);
        check(Intrinsic.TAN, f, range(-1.5, 1.5, 50_001), Math::tan, 2.0);
        check(Intrinsic.ASIN, f, range(-1, 1, 50_001, 1.5), Math::asin, 2.0);
        check(Intrinsic.ACOS, f, range(-1, 1, 50_001, -1.5), Math::acos, 2.0);
        check(Intrinsic.ATAN, f, range(-100, 100, 50_001), Math::atan, 2.0);
        check(Intrinsic.SINH, f, range(-80, 80, 50_001), Math::sinh, 2.0);
        check(Intrinsic.COSH, f, range(-80, 80, 50_001), Math::cosh, 2.0);
        check(Intrinsic.ASINH, f, range(-100, 100, 50_001, 1e-5), MathAccuracyTest::asinh, 2.0);
        check(Intrinsic.ACOSH, f, range(1, 100, 50_001, 0.5), x -> x < 1 ? Double.NaN : Math.log(x + Math.sqrt(x * x - 1)), 2.0);
        check(Intrinsic.ATANH, f, range(-0.999, 0.999, 50_001, 1, -1, 2), x -> 0.5 * Math.log1p(2 * x / (1 - x)), 2.0);
        check(Intrinsic.ATAN2, f, range(-10, 10, 20_001), range(10, -10, 20_001), Math::atan2, 2.0);
    }

    @Test
    void float64UsesLibm() {
        ScalarType d = ScalarType.F64;
        check(Intrinsic.EXP, d, range(-700, 700, 20_001), Math::exp, 1.5);
        check(Intrinsic.LOG, d, range(1e-300, 1e300, 20_001, 1e-310), Math::log, 1.5);
        check(Intrinsic.TANH, d, range(-20, 20, 20_001), Math::tanh, 2.5);
        check(Intrinsic.ERF, d, range(-6, 6, 2_001), MathAccuracyTest::erfExact, 1.5);
        check(Intrinsic.SIGMOID, d, range(-700, 700, 20_001), x -> 1 / (1 + Math.exp(-x)), 2.5);
        check(Intrinsic.POW, d, range(0.01, 10, 20_001), range(-20, 20, 20_001), Math::pow, 1.5);
        check(Intrinsic.SIN, d, range(-100, 100, 20_001), Math::sin, 1.5);
    }

    @Test
    void float16ComputesInFloat32() {
        ScalarType h = ScalarType.F16;
        check(Intrinsic.EXP, h, range(-17, 11, 20_001), Math::exp, 0.51);
        check(Intrinsic.TANH, h, range(-5, 5, 20_001), Math::tanh, 0.51);
        check(Intrinsic.SQRT, h, range(0, 60000, 20_001), Math::sqrt, 0.5);
    }

    @Test
    void nanAndInfinityTests() {
        double[] x = round(ScalarType.F32, SPECIALS);
        double[][] nan = run(Intrinsic.IS_NAN, ScalarType.F32, x, null), inf = run(Intrinsic.IS_INF, ScalarType.F32, x, null);
        for (int k = 0; k < x.length; k++) {
            for (int v = 0; v < 2; v++) {
                assertEquals(Double.isNaN(x[k]) ? 1.0 : 0.0, nan[v][k], "isnan(" + x[k] + ")");
                assertEquals(Double.isInfinite(x[k]) ? 1.0 : 0.0, inf[v][k], "isinf(" + x[k] + ")");
            }
        }
    }

    private static final java.math.MathContext MC = new java.math.MathContext(60);
    private static final java.math.BigDecimal TWO_OVER_SQRT_PI = java.math.BigDecimal.TWO.divide(
            new java.math.BigDecimal("3.14159265358979323846264338327950288419716939937510582097494").sqrt(MC), MC);

    /** erf by its Taylor series in 60-digit decimals (slow; for checking f64). */
    static double erfExact(double x) {
        if (Double.isNaN(x) || Math.abs(x) > 7) return Double.isNaN(x) ? x : Math.copySign(1, x);
        java.math.BigDecimal bx = new java.math.BigDecimal(x), x2 = bx.multiply(bx, MC).negate();
        java.math.BigDecimal power = bx, sum = java.math.BigDecimal.ZERO, eps = new java.math.BigDecimal("1e-45");
        for (int n = 0; ; n++) {
            java.math.BigDecimal term = power.divide(java.math.BigDecimal.valueOf(2L * n + 1), MC);
            sum = sum.add(term, MC);
            if (term.abs().compareTo(eps) < 0 && n > 2) break;
            power = power.multiply(x2, MC).divide(java.math.BigDecimal.valueOf(n + 1), MC);
        }
        return sum.multiply(TWO_OVER_SQRT_PI, MC).doubleValue();
    }

    static double asinh(double x) {
        double a = Math.abs(x);
        if (Double.isInfinite(a)) return x;
        return Math.copySign(Math.log1p(a + a * a / (1 + Math.sqrt(1 + a * a))), x);
    }

    /**
     * A reference erf good to a few ulp of double. Below 2: 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} /
     * (1*3*...*(2n+1)), all terms positive (no cancellation); above: 1 - erfc with erfc's continued
     * fraction. e^{-x^2} is taken with x^2 split exactly in two (FMA), so its rounding does not leak in.
     */
    static double erfRef(double x) {
        if (Double.isNaN(x)) return x;
        double a = Math.abs(x);
        if (a > 7) return Math.copySign(1, x);
        double hi = a * a, lo = Math.fma(a, a, -hi);
        double expMinusSquare = Math.exp(-hi) * (1 - lo);
        double r;
        if (a < 2) {
            double term = a, sum = a;
            for (int n = 1; n < 200 && term > sum * 1e-19; n++) {
                term *= 2 * a * a / (2 * n + 1);
                sum += term;
            }
            r = 2 / Math.sqrt(Math.PI) * expMinusSquare * sum;
        } else {
            // erfc(a) = e^{-a^2}/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated bottom-up.
            double t = a;
            for (int k = 200; k >= 1; k--) t = a + (k / 2.0) / t;
            r = 1 - expMinusSquare / Math.sqrt(Math.PI) / t;
        }
        return Math.copySign(r, x);
    }
}
