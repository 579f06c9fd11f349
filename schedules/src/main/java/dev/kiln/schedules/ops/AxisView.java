package dev.kiln.schedules.ops;

import dev.kiln.irlow.expr.Expr;
import java.util.ArrayList;
import java.util.List;

/**
 * A tensor seen as {@code [outer, mid, inner]} around one axis (or a run of axes): the layout that
 * Softmax, LayerNorm and Gather work in. Unit outer and inner dimensions are left
 * out of the view's shape so that no loop of extent 1 stands between the schedule and the axis
 * it vectorizes.
 */
record AxisView(long outer, long mid, long inner) {
    /** The view of {@code dims} around axes {@code [from, to)}. */
    static AxisView around(long[] dims, int from, int to) {
        long o = 1, m = 1, i = 1;
        for (int d = 0; d < dims.length; d++) {
            if (d < from) o *= dims[d];
            else if (d < to) m *= dims[d];
            else i *= dims[d];
        }
        return new AxisView(o, m, i);
    }

    AxisView withMid(long newMid) {
        return new AxisView(outer, newMid, inner);
    }

    /** The full tensor's view shape: {@code [outer?, mid, inner?]}. */
    long[] shape() {
        List<Long> s = new ArrayList<>();
        if (outer > 1) s.add(outer);
        s.add(mid);
        if (inner > 1) s.add(inner);
        return s.stream().mapToLong(Long::longValue).toArray();
    }

    /** The shape without the mid axis (what a reduction over it leaves): {@code [outer?, inner?]}, or {@code [1]}. */
    long[] keptShape() {
        List<Long> s = new ArrayList<>();
        if (outer > 1) s.add(outer);
        if (inner > 1) s.add(inner);
        if (s.isEmpty()) s.add(1L);
        return s.stream().mapToLong(Long::longValue).toArray();
    }

    /** Indices into {@link #shape()} for the given outer, mid and inner indices. */
    List<Expr> at(Expr o, Expr m, Expr i) {
        List<Expr> r = new ArrayList<>();
        if (outer > 1) r.add(o);
        r.add(m);
        if (inner > 1) r.add(i);
        return r;
    }

    /** Indices into {@link #keptShape()} for the given outer and inner indices. */
    List<Expr> keptAt(Expr o, Expr i) {
        List<Expr> r = new ArrayList<>();
        if (outer > 1) r.add(o);
        if (inner > 1) r.add(i);
        if (r.isEmpty()) r.add(Idx.c(0));
        return r;
    }

    /** The outer, mid and inner indices of a point given by axes over {@link #shape()}. */
    Expr outerOf(List<? extends Expr> ax) {
        return outer > 1 ? ax.get(0) : Idx.c(0);
    }

    Expr midOf(List<? extends Expr> ax) {
        return ax.get(outer > 1 ? 1 : 0);
    }

    Expr innerOf(List<? extends Expr> ax) {
        return inner > 1 ? ax.get(ax.size() - 1) : Idx.c(0);
    }

    /** The outer and inner indices of a point given by axes over {@link #keptShape()}. */
    Expr keptOuterOf(List<? extends Expr> ax) {
        return outer > 1 ? ax.get(0) : Idx.c(0);
    }

    Expr keptInnerOf(List<? extends Expr> ax) {
        return inner > 1 ? ax.get(outer > 1 ? 1 : 0) : Idx.c(0);
    }
}
