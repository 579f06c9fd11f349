package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Numpy broadcasting of shapes: align to the right; a dimension of 1 stretches to match the other. */
final class Broadcast {
    private Broadcast() {}

    /** The broadcast of two shapes, or null when they do not broadcast. */
    static Shape of(Shape a, Shape b) {
        int r = Math.max(a.rank(), b.rank());
        int[] d = new int[r];
        for (int i = 0; i < r; i++) {
            int x = i - (r - a.rank()) >= 0 ? a.dim(i - (r - a.rank())) : 1;
            int y = i - (r - b.rank()) >= 0 ? b.dim(i - (r - b.rank())) : 1;
            if (x != y && x != 1 && y != 1) return null;
            d[i] = x == 1 ? y : x;
        }
        return new Shape(d);
    }

    /** The broadcast shape of several inputs (nulls skipped), or a node error naming the two that clash. */
    static Shape of(Node n, List<Value> inputs, String... roles) {
        Shape s = null;
        int first = -1;
        for (int i = 0; i < inputs.size(); i++) {
            Value v = inputs.get(i);
            if (v == null) continue;
            if (s == null) {
                s = v.shape();
                first = i;
                continue;
            }
            Shape t = of(s, v.shape());
            if (t == null)
                throw n.error(Ops.in(n, i, role(roles, i)) + " has shape " + v.shape() + ", which does not broadcast with "
                        + (i == first + 1 ? Ops.in(n, first, role(roles, first)) + "'s shape " : "the shape so far ") + s
                        + " (numpy rules: dimensions aligned from the right must be equal or 1)");
            s = t;
        }
        return s;
    }

    /** True when {@code from} broadcasts to exactly {@code to} (unidirectional, as for Gemm's C). */
    static boolean unidirectional(Shape from, Shape to) {
        Shape b = of(from, to);
        return b != null && b.equals(to);
    }

    private static String role(String[] roles, int i) {
        return i < roles.length ? roles[i] : roles.length == 1 ? roles[0] + i : "#" + i;
    }
}
