package dev.kiln.irlow.te;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The tensor-expression language: describes <em>what</em> a kernel computes, apart from how
 * (the schedule). Example, a matmul:
 *
 * <pre>{@code
 * var A = Te.placeholder("A", F32, M, K);
 * var B = Te.placeholder("B", F32, K, N);
 * var k = Te.reduceAxis("k");
 * var C = Te.compute("C", F32, List.of(M, N), i -> Te.sum(
 *         Exprs.mul(Te.read(A, i.get(0), k), Te.read(B, k, i.get(1))), List.of(k), List.of(K)));
 * }</pre>
 *
 * Axis variables of a compute are named after the compute ({@code C.i0, C.i1}), so loop names
 * are unique within a kernel.
 */
public final class Te {
    private Te() {}

    public static Placeholder placeholder(String name, ScalarType dtype, long... shape) {
        return new Placeholder(name, dtype, box(shape));
    }

    public static Placeholder placeholder(String name, ScalarType dtype, List<Long> shape) {
        return new Placeholder(name, dtype, shape);
    }

    /** A compute whose element at indices {@code i} is {@code body.apply(i)}. */
    public static Compute compute(String name, ScalarType dtype, List<Long> shape, Function<List<Expr.Var>, Expr> body) {
        List<Expr.Var> axes = new ArrayList<>();
        for (int d = 0; d < shape.size(); d++) axes.add(new Expr.Var(name + ".i" + d, Type.INDEX));
        return new Compute(name, dtype, shape, axes, body.apply(axes));
    }

    /** A reduction axis variable (its extent is given to the reduce). */
    public static Expr.Var reduceAxis(String name) {
        return new Expr.Var(name, Type.INDEX);
    }

    public static Expr read(Operation t, Expr... indices) {
        return read(t, Arrays.asList(indices));
    }

    public static Expr read(Operation t, List<? extends Expr> indices) {
        if (indices.size() != t.shape().size())
            throw new IllegalArgumentException("reading " + t.name() + " of rank " + t.shape().size() + " with " + indices.size() + " indices");
        return new Expr.TensorRead(t, new ArrayList<>(indices));
    }

    public static Expr sum(Expr source, List<Expr.Var> axes, List<Long> extents) {
        return new Expr.Reduce(Expr.ReduceOp.SUM, source, axes, extents);
    }

    public static Expr max(Expr source, List<Expr.Var> axes, List<Long> extents) {
        return new Expr.Reduce(Expr.ReduceOp.MAX, source, axes, extents);
    }

    public static Expr min(Expr source, List<Expr.Var> axes, List<Long> extents) {
        return new Expr.Reduce(Expr.ReduceOp.MIN, source, axes, extents);
    }

    public static List<Long> box(long... dims) {
        List<Long> r = new ArrayList<>();
        for (long d : dims) r.add(d);
        return r;
    }
}
