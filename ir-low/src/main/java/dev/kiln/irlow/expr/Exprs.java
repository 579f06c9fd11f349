package dev.kiln.irlow.expr;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import java.util.List;

/** Short constructors for building expressions by hand (schedules, op computes, tests). */
public final class Exprs {
    private Exprs() {}

    /** An index constant (the loop/index type, i64). */
    public static Expr.IntImm idx(long v) {
        return new Expr.IntImm(Type.INDEX, v);
    }

    public static Expr.IntImm intImm(ScalarType t, long v) {
        return new Expr.IntImm(Type.of(t), v);
    }

    public static Expr.FloatImm f32(double v) {
        return new Expr.FloatImm(Type.F32, v);
    }

    /** A constant of the given scalar type (float or int). */
    public static Expr constant(ScalarType t, double v) {
        return t.isFloat ? new Expr.FloatImm(Type.of(t), v) : new Expr.IntImm(Type.of(t), (long) v);
    }

    /** A fresh index variable. */
    public static Expr.Var var(String name) {
        return new Expr.Var(name, Type.INDEX);
    }

    public static Expr add(Expr a, Expr b) {
        return new Expr.Add(a, b);
    }

    public static Expr sub(Expr a, Expr b) {
        return new Expr.Sub(a, b);
    }

    public static Expr mul(Expr a, Expr b) {
        return new Expr.Mul(a, b);
    }

    public static Expr div(Expr a, Expr b) {
        return new Expr.Div(a, b);
    }

    public static Expr mod(Expr a, Expr b) {
        return new Expr.Mod(a, b);
    }

    public static Expr min(Expr a, Expr b) {
        return new Expr.Min(a, b);
    }

    public static Expr max(Expr a, Expr b) {
        return new Expr.Max(a, b);
    }

    public static Expr cmp(CmpOp op, Expr a, Expr b) {
        return new Expr.Cmp(op, a, b);
    }

    public static Expr lt(Expr a, Expr b) {
        return new Expr.Cmp(CmpOp.LT, a, b);
    }

    public static Expr ge(Expr a, Expr b) {
        return new Expr.Cmp(CmpOp.GE, a, b);
    }

    public static Expr and(Expr a, Expr b) {
        return new Expr.And(a, b);
    }

    public static Expr select(Expr c, Expr t, Expr f) {
        return new Expr.Select(c, t, f);
    }

    public static Expr cast(ScalarType t, Expr e) {
        return e.type().scalar() == t ? e : new Expr.Cast(e.type().element().equals(e.type()) ? Type.of(t) : new Type(t, e.type().lanes()), e);
    }

    public static Expr call(Intrinsic fn, Expr... args) {
        return new Expr.Call(args[0].type(), fn, List.of(args));
    }
}
