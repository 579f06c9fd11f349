package dev.kiln.irlow.te;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.transform.Children;
import java.util.List;

/**
 * {@code name[axes] = body}: the value of every element as an expression of its indices. The
 * body may be an {@link Expr.Reduce} (at the top level only) and reads other tensors with
 * {@link Expr.TensorRead}.
 */
public record Compute(String name, ScalarType dtype, List<Long> shape, List<Expr.Var> axes, Expr body)
        implements Operation {
    public Compute {
        shape = List.copyOf(shape);
        axes = List.copyOf(axes);
        if (shape.size() != axes.size()) throw new IllegalArgumentException("compute " + name + ": one axis per dimension");
    }

    /** The tensors this compute reads directly. */
    public List<Operation> inputs() {
        java.util.LinkedHashSet<Operation> r = new java.util.LinkedHashSet<>();
        collect(body, r);
        return List.copyOf(r);
    }

    private static void collect(Expr e, java.util.Set<Operation> out) {
        if (e instanceof Expr.TensorRead t) out.add(t.tensor());
        Children.forEach(e, c -> collect(c, out));
    }
}
