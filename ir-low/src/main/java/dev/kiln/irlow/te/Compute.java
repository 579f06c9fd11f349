package dev.kiln.irlow.te;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
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
        switch (e) {
            case Expr.TensorRead t -> {
                out.add(t.tensor());
                for (Expr i : t.indices()) collect(i, out);
            }
            case Expr.Add(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Sub(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Mul(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Div(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Mod(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Min(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Max(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Cmp c -> { collect(c.a(), out); collect(c.b(), out); }
            case Expr.And(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Or(Expr a, Expr b) -> { collect(a, out); collect(b, out); }
            case Expr.Not(Expr a) -> collect(a, out);
            case Expr.Select(Expr c, Expr t, Expr f) -> { collect(c, out); collect(t, out); collect(f, out); }
            case Expr.Cast c -> collect(c.value(), out);
            case Expr.Load l -> collect(l.index(), out);
            case Expr.Ramp r -> { collect(r.base(), out); collect(r.stride(), out); }
            case Expr.Broadcast b -> collect(b.value(), out);
            case Expr.Call c -> { for (Expr a : c.args()) collect(a, out); }
            case Expr.Reduce r -> collect(r.source(), out);
            case Expr.IntImm i -> {}
            case Expr.FloatImm f -> {}
            case Expr.Var v -> {}
        }
    }
}
