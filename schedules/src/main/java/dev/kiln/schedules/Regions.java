package dev.kiln.schedules;

import static dev.kiln.irlow.expr.Exprs.idx;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.transform.Bounds;
import dev.kiln.irlow.transform.Bounds.Interval;
import dev.kiln.irlow.transform.Simplify;
import dev.kiln.irlow.transform.Vars;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Index analysis for the placement primitives (computeAt, cacheRead, cacheWrite, computeInline).
 * Buffers are flat, so a buffer's dimensions come from a {@link Layout}: the row-major strides
 * seen in its store nest or in the indices that access it. An index is split into one index per
 * dimension, and the region a loop body touches is a box: per dimension, the symbolic min..max
 * of that index over the loops inside, with the variables outside kept as they are.
 */
final class Regions {
    private Regions() {}

    /** {@code Σ coefficient·atom + constant}; atoms are the non-linear parts, compared structurally. */
    record Linear(Map<Expr, Long> terms, long constant) {}

    static Linear linearize(Expr e) {
        Map<Expr, Long> terms = new LinkedHashMap<>();
        long[] c = {0};
        linearize(e, 1, terms, c);
        terms.values().removeIf(v -> v == 0);
        return new Linear(terms, c[0]);
    }

    private static void linearize(Expr e, long scale, Map<Expr, Long> terms, long[] c) {
        switch (e) {
            case Expr.IntImm i -> c[0] += scale * i.value();
            case Expr.Add(Expr a, Expr b) -> {
                linearize(a, scale, terms, c);
                linearize(b, scale, terms, c);
            }
            case Expr.Sub(Expr a, Expr b) -> {
                linearize(a, scale, terms, c);
                linearize(b, -scale, terms, c);
            }
            case Expr.Mul(Expr a, Expr.IntImm k) -> linearize(a, scale * k.value(), terms, c);
            case Expr.Mul(Expr.IntImm k, Expr b) -> linearize(b, scale * k.value(), terms, c);
            default -> terms.merge(e, scale, Long::sum);
        }
    }

    /**
     * A row-major view of a flat buffer: dimension d has {@code extents[d]} elements at
     * {@code strides[d]}, outermost first, and element (k0, k1, ...) is at {@code Σ strides[d]·k[d]}.
     */
    record Layout(List<Long> strides, List<Long> extents) {
        int rank() {
            return strides.size();
        }

        static Layout flat(long size) {
            return new Layout(List.of(1L), List.of(size));
        }

        /**
         * The layout whose strides are the coefficients the indices use, when they form a
         * row-major chain dividing {@code size}; otherwise one flat dimension.
         */
        static Layout inferred(long size, List<Expr> indices) {
            TreeSet<Long> coefs = new TreeSet<>(List.of(1L));
            for (Expr i : indices) for (long c : linearize(i).terms().values()) coefs.add(Math.abs(c));
            // Keep a chain 1 | c1 | c2 | ... | size; a coefficient off the chain (a split's o*2*W) is a multiple within a dimension.
            List<Long> strides = new ArrayList<>();
            for (long c : coefs) if (size % c == 0 && (strides.isEmpty() || c % strides.getFirst() == 0)) strides.addFirst(c);
            List<Long> extents = new ArrayList<>(List.of(size / strides.getFirst()));
            for (int d = 1; d < strides.size(); d++) extents.add(strides.get(d - 1) / strides.get(d));
            return new Layout(strides, extents);
        }
    }

    /**
     * Splits a flat index into one index per dimension of {@code layout}, exactly: every
     * dimension but the outermost provably stays in range over {@code ranges} (so no index
     * wraps into the next dimension). The outermost may leave its range only where the
     * access is out of the buffer, i.e. where a guard keeps it from running. Null when the
     * index does not split that way.
     */
    static List<Expr> decompose(Layout layout, Expr index, Map<String, Interval> ranges) {
        Linear lin = linearize(index);
        int rank = layout.rank();
        List<Map<Expr, Long>> parts = new ArrayList<>();
        for (int d = 0; d < rank; d++) parts.add(new LinkedHashMap<>());
        for (var t : lin.terms().entrySet()) {
            int d = 0;
            while (t.getValue() % layout.strides().get(d) != 0) d++; // the innermost stride is 1
            parts.get(d).merge(t.getKey(), t.getValue() / layout.strides().get(d), Long::sum);
        }
        List<Expr> out = new ArrayList<>();
        return split(layout, parts, 0, lin.constant(), ranges, out) ? out : null;
    }

    private static boolean split(Layout layout, List<Map<Expr, Long>> parts, int d, long rest, Map<String, Interval> ranges, List<Expr> out) {
        if (d == layout.rank()) return rest == 0;
        long stride = layout.strides().get(d);
        long q0 = Math.floorDiv(rest, stride);
        for (long q : d == layout.rank() - 1 ? new long[] {rest} : new long[] {q0, q0 + 1}) {
            Expr k = sum(parts.get(d), q);
            if (d > 0 && !Bounds.of(k, ranges).within(layout.extents().get(d))) continue;
            out.add(k);
            if (split(layout, parts, d + 1, rest - q * stride, ranges, out)) return true;
            out.removeLast();
        }
        return false;
    }

    private static Expr sum(Map<Expr, Long> terms, long constant) {
        Expr r = null;
        for (var t : terms.entrySet()) {
            Expr term = t.getValue() == 1 ? t.getKey() : Exprs.mul(t.getKey(), idx(t.getValue()));
            r = r == null ? term : Exprs.add(r, term);
        }
        if (r == null) return idx(constant);
        return constant == 0 ? r : Exprs.add(r, idx(constant));
    }

    /** The flat index of element {@code k} (one index per dimension). */
    static Expr flatten(Layout layout, List<Expr> k) {
        Expr r = null;
        for (int d = 0; d < layout.rank(); d++) {
            long s = layout.strides().get(d);
            Expr term = s == 1 ? k.get(d) : Exprs.mul(k.get(d), idx(s));
            r = r == null ? term : Exprs.add(r, term);
        }
        return r == null ? idx(0) : r;
    }

    /**
     * The bounds of {@code es} that no other bound beats by a constant ({@code sign} 1: keep the
     * largest, -1: the smallest), so min(y, y + 1, y + 2) becomes y.
     */
    static List<Expr> dominant(List<Expr> es, int sign) {
        List<Expr> kept = new ArrayList<>();
        for (Expr e : es) {
            boolean beaten = false;
            for (int i = 0; i < kept.size() && !beaten; i++) {
                Linear diff = linearize(Exprs.sub(e, kept.get(i)));
                if (!diff.terms().isEmpty()) continue;
                if (diff.constant() * sign > 0) kept.set(i, e);
                beaten = true;
            }
            if (!beaten) kept.add(e);
        }
        return kept;
    }

    /** Symbolic inclusive bounds; either may be null where unknown. */
    record Range(Expr lo, Expr hi) {}

    /**
     * Bounds of an index expression over the variables in {@code inner} (each with its range,
     * or null when unknown); every other variable is fixed and stays in the result. Null when
     * {@code e} is not monotone enough to bound (a data-dependent index, a product of loops).
     */
    static Range bound(Expr e, Map<String, Range> inner) {
        if (!hasLoad(e) && !Vars.usesAny(e, inner.keySet())) return new Range(e, e);
        return switch (e) {
            case Expr.Var v -> inner.get(v.name());
            case Expr.Add(Expr a, Expr b) -> both(bound(a, inner), bound(b, inner), (x, y) -> new Range(Exprs.add(x.lo, y.lo), Exprs.add(x.hi, y.hi)));
            case Expr.Sub(Expr a, Expr b) -> both(bound(a, inner), bound(b, inner), (x, y) -> new Range(Exprs.sub(x.lo, y.hi), Exprs.sub(x.hi, y.lo)));
            case Expr.Mul(Expr a, Expr.IntImm k) -> scale(bound(a, inner), k);
            case Expr.Mul(Expr.IntImm k, Expr b) -> scale(bound(b, inner), k);
            case Expr.Div(Expr a, Expr.IntImm k) when k.value() > 0 -> {
                Range r = bound(a, inner);
                yield r == null ? null : new Range(Exprs.div(r.lo, k), Exprs.div(r.hi, k));
            }
            case Expr.Mod(Expr a, Expr.IntImm k) when k.value() > 0 -> new Range(idx(0), idx(k.value() - 1));
            case Expr.Min(Expr a, Expr b) -> both(bound(a, inner), bound(b, inner), (x, y) -> new Range(Exprs.min(x.lo, y.lo), Exprs.min(x.hi, y.hi)));
            case Expr.Max(Expr a, Expr b) -> both(bound(a, inner), bound(b, inner), (x, y) -> new Range(Exprs.max(x.lo, y.lo), Exprs.max(x.hi, y.hi)));
            case Expr.Select(Expr c, Expr t, Expr f) -> both(bound(t, inner), bound(f, inner), (x, y) -> new Range(Exprs.min(x.lo, y.lo), Exprs.max(x.hi, y.hi)));
            case Expr.Cast(var t, Expr v) when t.isInt() && v.type().isInt() && t.scalar().bits >= v.type().scalar().bits -> {
                Range r = bound(v, inner);
                yield r == null ? null : new Range(Exprs.cast(t.scalar(), r.lo), Exprs.cast(t.scalar(), r.hi));
            }
            default -> null;
        };
    }

    private static Range both(Range x, Range y, java.util.function.BinaryOperator<Range> f) {
        return x == null || y == null || x.lo == null || y.lo == null ? null : f.apply(x, y);
    }

    private static Range scale(Range r, Expr.IntImm k) {
        if (r == null || r.lo == null) return null;
        Expr a = Exprs.mul(r.lo, k), b = Exprs.mul(r.hi, k);
        return k.value() >= 0 ? new Range(a, b) : new Range(b, a);
    }

    static boolean hasLoad(Expr e) {
        if (e instanceof Expr.Load) return true;
        boolean[] found = {false};
        dev.kiln.irlow.transform.Children.forEach(e, c -> found[0] |= hasLoad(c));
        return found[0];
    }

    /**
     * One dimension of a region: elements {@code lo..hi} (clamped into the dimension, symbolic in
     * the variables outside the loop) and a constant {@code width} that {@code hi - lo + 1} never exceeds.
     */
    record Dim(Expr lo, Expr hi, long width, long extent) {}

    /**
     * The box covering, per dimension, every bound in {@code bounds} (one list of per-dimension
     * ranges per access, a null range meaning the whole dimension). {@code outer} has the
     * numeric ranges of the variables the box may use.
     */
    static List<Dim> box(Layout layout, List<List<Range>> bounds, Map<String, Interval> outer) {
        List<Dim> dims = new ArrayList<>();
        for (int d = 0; d < layout.rank(); d++) {
            long n = layout.extents().get(d);
            List<Expr> los = new ArrayList<>(), his = new ArrayList<>();
            for (List<Range> access : bounds) {
                Range r = access.get(d);
                los.add(r == null ? idx(0) : r.lo);
                his.add(r == null ? idx(n - 1) : r.hi);
            }
            long width = 0;
            for (Expr hi : his)
                for (Expr lo : los) {
                    Linear diff = linearize(Simplify.expr(Exprs.sub(hi, lo), outer));
                    long w = diff.terms().isEmpty() ? diff.constant() : Bounds.of(Simplify.expr(Exprs.sub(hi, lo), outer), outer).hi();
                    width = Math.max(width, w == Bounds.POS_INF ? n : Math.min(n, w + 1));
                }
            width = Math.max(1, Math.min(n, width));
            Expr lo = Simplify.expr(dominant(los, -1).stream().reduce(Exprs::min).orElseThrow(), outer);
            Expr hi = Simplify.expr(dominant(his, 1).stream().reduce(Exprs::max).orElseThrow(), outer);
            if (Bounds.of(lo, outer).lo() < 0) lo = Exprs.max(lo, idx(0));
            if (Bounds.of(hi, outer).hi() > n - 1) hi = Exprs.min(hi, idx(n - 1));
            dims.add(new Dim(Simplify.expr(lo, outer), Simplify.expr(hi, outer), width, n));
        }
        return dims;
    }
}
