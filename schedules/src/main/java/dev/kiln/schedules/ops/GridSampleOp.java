package dev.kiln.schedules.ops;

import dev.kiln.irhigh.ops.GridSample;
import dev.kiln.irhigh.ops.GridSample.Mode;
import dev.kiln.irhigh.ops.GridSample.Padding;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * GridSample as one elementwise compute over {@code [N, C, positions]}: each output element
 * maps its grid point to pixel coordinates (moved inside the borders for border and reflection
 * padding), then sums its taps (1 for nearest, 2 per dimension for linear, 4 for cubic) with
 * their separable weights; a tap outside the input reads a clamped index and, for zeros
 * padding, is selected away. The semantics are {@link GridSample}'s (the ONNX reference's).
 */
final class GridSampleOp {
    private GridSampleOp() {}

    static void gridSample(OpBuilder b) {
        GridSample.Settings s = GridSample.settings(b.node);
        long[] x = b.inDims(0), g = b.inDims(1);
        int k = x.length - 2;
        long positions = 1;
        for (int d = 1; d <= k; d++) positions *= g[d];
        long[] in = java.util.Arrays.copyOfRange(x, 2, x.length);
        ScalarType t = b.outType(0) == ScalarType.F64 ? ScalarType.F64 : ScalarType.F32;
        Placeholder px = b.input(0), pg = b.input(1, new long[] {x[0], positions, k});
        long p = positions;
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(new long[] {x[0], x[1], p}), ax -> {
            List<Expr> coord = new ArrayList<>();
            for (int d = 0; d < k; d++) {
                Expr v = Exprs.cast(t, Te.read(pg, List.of(ax.get(0), ax.get(2), Idx.c(k - 1 - d))));
                Expr c = denormalize(v, in[d], s.alignCorners(), t, s.mode(), k);
                // Cubic taps are padded one by one, the point itself is not moved (as PyTorch and ONNX Runtime do).
                coord.add(s.mode() == Mode.CUBIC ? c : inside(c, in[d], s, t));
            }
            List<Expr> idx = new ArrayList<>(List.of(ax.get(0), ax.get(1)));
            return Exprs.cast(b.outType(0), taps(px, idx, coord, in, s, t, 0, Idx.lit(t, 1), null));
        }));
    }

    /** The pixel coordinate of normalized v, rounded for nearest mode (half to even; half away from zero in 3-D, as PyTorch). */
    private static Expr denormalize(Expr v, long size, boolean align, ScalarType t, Mode mode, int k) {
        Expr one = Idx.lit(t, 1);
        Expr r = align ? Exprs.mul(Exprs.add(v, one), Idx.lit(t, (size - 1) / 2.0))
                : Exprs.div(Exprs.sub(Exprs.mul(Exprs.add(v, one), Idx.lit(t, size)), one), Idx.lit(t, 2));
        if (mode != Mode.NEAREST) return r;
        if (k != 3) return Exprs.call(Intrinsic.ROUND_EVEN, r);
        Expr mag = Exprs.call(Intrinsic.FLOOR, Exprs.add(Exprs.call(Intrinsic.ABS, r), Idx.lit(t, 0.5)));
        return Exprs.select(Exprs.lt(r, Idx.lit(t, 0)), Exprs.sub(Idx.lit(t, 0), mag), mag);
    }

    /** The coordinate moved inside the borders, for border and reflection padding. */
    private static Expr inside(Expr v, long size, GridSample.Settings s, ScalarType t) {
        double[] br = GridSample.borders(size, s.alignCorners());
        Expr out = new Expr.Or(Exprs.lt(v, Idx.lit(t, br[0])), Idx.cmp(CmpOp.GT, v, Idx.lit(t, br[1])));
        return switch (s.padding()) {
            case ZEROS -> v;
            case BORDER -> Exprs.select(out, Exprs.max(Exprs.min(v, Idx.lit(t, size - 1)), Idx.lit(t, 0)), v);
            case REFLECTION -> Exprs.select(out, reflect(v, br[0], br[1], t), v);
        };
    }

    /** x reflected by the nearer border until inside [lo, hi] ({@link GridSample#reflect}). */
    private static Expr reflect(Expr x, double lo, double hi, ScalarType t) {
        double range = hi - lo;
        Expr below = Exprs.sub(Idx.lit(t, lo), x), above = Exprs.sub(x, Idx.lit(t, hi));
        Expr fromLo = folded(below, range, t, Idx.lit(t, lo), Idx.lit(t, hi), true);
        Expr fromHi = folded(above, range, t, Idx.lit(t, hi), Idx.lit(t, lo), false);
        return Exprs.select(Exprs.lt(x, Idx.lit(t, lo)), fromLo, Exprs.select(Idx.cmp(CmpOp.GT, x, Idx.lit(t, hi)), fromHi, x));
    }

    /** For a distance dx past border {@code near}: an even number of whole ranges lands near + r, an odd one far - r (towards the inside). */
    private static Expr folded(Expr dx, double range, ScalarType t, Expr near, Expr far, boolean up) {
        Expr k = Exprs.call(Intrinsic.FLOOR, Exprs.div(dx, Idx.lit(t, range)));
        Expr r = Exprs.sub(dx, Exprs.mul(k, Idx.lit(t, range)));
        Expr half = Exprs.call(Intrinsic.FLOOR, Exprs.mul(k, Idx.lit(t, 0.5)));
        Expr even = Idx.cmp(CmpOp.EQ, Exprs.sub(k, Exprs.mul(half, Idx.lit(t, 2))), Idx.lit(t, 0));
        Expr towardsNear = up ? Exprs.add(near, r) : Exprs.sub(near, r), towardsFar = up ? Exprs.sub(far, r) : Exprs.add(far, r);
        return Exprs.select(even, towardsNear, towardsFar);
    }

    /**
     * The weighted sum of the taps over dimensions d.., given the indices chosen for the earlier
     * dimensions, their weight product and (zeros padding) whether they all lie inside.
     */
    private static Expr taps(Placeholder px, List<Expr> idx, List<Expr> coord, long[] in, GridSample.Settings s, ScalarType t, int d,
                             Expr weight, Expr valid) {
        if (d == in.length) {
            Expr v = Exprs.mul(weight, Exprs.cast(t, Te.read(px, idx)));
            return valid == null ? v : Exprs.select(valid, v, Idx.lit(t, 0));
        }
        Expr c = coord.get(d), floor = Exprs.call(Intrinsic.FLOOR, c), frac = Exprs.sub(c, floor);
        Expr i0 = Exprs.cast(ScalarType.I64, floor);
        List<Expr> taps = new ArrayList<>(), weights = new ArrayList<>();
        switch (s.mode()) {
            case NEAREST -> {
                taps.add(Exprs.cast(ScalarType.I64, c));
                weights.add(Idx.lit(t, 1));
            }
            case LINEAR -> {
                taps.addAll(List.of(i0, Idx.add(i0, 1)));
                weights.addAll(List.of(Exprs.sub(Idx.lit(t, 1), frac), frac));
            }
            case CUBIC -> {
                for (int j = -1; j <= 2; j++) taps.add(Idx.add(i0, j));
                weights.addAll(cubic(frac, t));
            }
        }
        Expr sum = null;
        for (int j = 0; j < taps.size(); j++) {
            Expr i = taps.get(j), inRange = Exprs.and(Exprs.ge(i, Idx.c(0)), Exprs.lt(i, Idx.c(in[d])));
            Expr at = switch (s.padding()) {
                case ZEROS, BORDER -> i;
                case REFLECTION -> {
                    double[] br = GridSample.borders(in[d], s.alignCorners());
                    yield Exprs.select(inRange, i, Exprs.cast(ScalarType.I64, reflect(Exprs.cast(t, i), br[0], br[1], t)));
                }
            };
            List<Expr> next = new ArrayList<>(idx);
            next.add(Idx.clamp(at, 0, in[d] - 1));
            Expr ok = s.padding() == Padding.ZEROS ? (valid == null ? inRange : Exprs.and(valid, inRange)) : valid;
            Expr term = taps(px, next, coord, in, s, t, d + 1, Exprs.mul(weight, weights.get(j)), ok);
            sum = sum == null ? term : Exprs.add(sum, term);
        }
        return sum;
    }

    /** Keys' cubic weights (a = -0.75) of the taps at -1, 0, 1, 2 for a point t in [0, 1) past tap 0. */
    private static List<Expr> cubic(Expr t0, ScalarType t) {
        double a = -0.75;
        Expr x = Exprs.call(Intrinsic.ABS, t0), one = Idx.lit(t, 1), two = Idx.lit(t, 2);
        Expr xp1 = Exprs.add(x, one), omx = Exprs.sub(one, x), tmx = Exprs.sub(two, x);
        return List.of(
                outer(xp1, a, t),
                Exprs.add(Exprs.mul(Exprs.mul(Exprs.sub(Exprs.mul(Idx.lit(t, a + 2), x), Idx.lit(t, a + 3)), x), x), one),
                Exprs.add(Exprs.mul(Exprs.mul(Exprs.sub(Exprs.mul(Idx.lit(t, a + 2), omx), Idx.lit(t, a + 3)), omx), omx), one),
                outer(tmx, a, t));
    }

    /** {@code ((a y - 5a) y + 8a) y - 4a}: the weight of an outer tap at distance y in [1, 2). */
    private static Expr outer(Expr y, double a, ScalarType t) {
        Expr r = Exprs.sub(Exprs.mul(Idx.lit(t, a), y), Idx.lit(t, 5 * a));
        r = Exprs.add(Exprs.mul(r, y), Idx.lit(t, 8 * a));
        return Exprs.sub(Exprs.mul(r, y), Idx.lit(t, 4 * a));
    }
}
