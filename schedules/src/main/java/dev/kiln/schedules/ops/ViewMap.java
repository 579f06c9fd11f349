package dev.kiln.schedules.ops;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Index maps between views of one row-major tensor (shapes of the same element count, such as
 * {@code [1,64,56,56]}, {@code [64,3136]} and {@code [200704]}). A view is described by its
 * dimension boundaries, the strides where one of its dimensions starts; a finer view's indices
 * give a coarser view's indices by sums of products, without division or modulo.
 */
final class ViewMap {
    private ViewMap() {}

    /**
     * The coarsest view that refines every one of {@code views} (the union of their boundaries,
     * size-1 dimensions dropped; the first view itself when it is that view up to size-1
     * dimensions), or the first view when their boundaries do not nest.
     */
    static List<Long> refine(List<List<Long>> views) {
        long numel = numel(views.getFirst());
        TreeSet<Long> bounds = new TreeSet<>();
        for (List<Long> v : views) bounds.addAll(strides(v));
        bounds.add(numel);
        List<Long> dims = new ArrayList<>();
        long prev = 1;
        for (long b : bounds) {
            if (b == 1) continue;
            if (b % prev != 0) return views.getFirst();
            dims.addFirst(b / prev);
            prev = b;
        }
        if (dims.isEmpty()) return List.of(1L);
        // The first view (the anchor's output) keeps its own shape when it already refines the rest,
        // so its schedule template still fits.
        List<Long> first = views.getFirst().stream().filter(d -> d != 1).toList();
        return first.equals(dims) ? views.getFirst() : dims;
    }

    /** The indices into view {@code to} of the element at indices {@code idx} of view {@code from}. */
    static List<Expr> remap(List<? extends Expr> idx, List<Long> from, List<Long> to) {
        if (from.equals(to)) return List.copyOf(idx);
        List<Long> sf = strides(from), st = strides(to);
        List<Expr> r = new ArrayList<>();
        Expr flat = null;
        for (int i = 0; i < to.size(); i++) {
            long lo = st.get(i), hi = lo * to.get(i);
            if (to.get(i) == 1) {
                r.add(Idx.c(0));
                continue;
            }
            // The dimensions of `from` that lie inside [lo, hi) and tile it exactly.
            Expr sum = null;
            long covered = 1;
            for (int k = 0; k < from.size(); k++) {
                long s = sf.get(k), n = from.get(k);
                if (n == 1 || s < lo || s * n > hi || s % lo != 0) continue;
                covered *= n;
                Expr term = Idx.mul(idx.get(k), s / lo);
                sum = sum == null ? term : Exprs.add(sum, term);
            }
            if (covered == to.get(i)) {
                r.add(sum);
                continue;
            }
            if (flat == null) flat = flatIndex(idx, from);
            Expr q = lo == 1 ? flat : Exprs.div(flat, Idx.c(lo));
            r.add(i == 0 ? q : Exprs.mod(q, Idx.c(to.get(i))));
        }
        return r;
    }

    private static Expr flatIndex(List<? extends Expr> idx, List<Long> shape) {
        List<Long> s = strides(shape);
        Expr r = null;
        for (int k = 0; k < shape.size(); k++) {
            if (shape.get(k) == 1) continue;
            Expr term = Idx.mul(idx.get(k), s.get(k));
            r = r == null ? term : Exprs.add(r, term);
        }
        return r == null ? Idx.c(0) : r;
    }

    /** Row-major strides: where each dimension of the view starts. */
    private static List<Long> strides(List<Long> shape) {
        Long[] s = new Long[shape.size()];
        long stride = 1;
        for (int d = shape.size() - 1; d >= 0; d--) {
            s[d] = stride;
            stride *= shape.get(d);
        }
        return List.of(s);
    }

    private static long numel(List<Long> shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }
}
