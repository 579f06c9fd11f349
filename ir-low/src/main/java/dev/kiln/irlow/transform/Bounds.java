package dev.kiln.irlow.transform;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import java.util.Map;

/**
 * Interval bounds of integer expressions, given bounds of the variables in scope (loop
 * variables range over [min, min + extent - 1]). Used to prove div/mod rewrites, guards and
 * vector loads in bounds. Bounds of a vector are over all its lanes. Sound for index
 * arithmetic, which does not overflow 64 bits; unknown ends are {@link Long#MIN_VALUE} /
 * {@link Long#MAX_VALUE}.
 */
public final class Bounds {
    private Bounds() {}

    public static final long NEG_INF = Long.MIN_VALUE, POS_INF = Long.MAX_VALUE;

    /** A closed interval [lo, hi]; either end may be unbounded. */
    public record Interval(long lo, long hi) {
        public static final Interval ALL = new Interval(NEG_INF, POS_INF);

        public static Interval point(long v) {
            return new Interval(v, v);
        }

        public boolean isPoint() {
            return lo == hi && lo != NEG_INF && lo != POS_INF;
        }

        /** Whether every value lies in [0, n). */
        public boolean within(long n) {
            return lo >= 0 && hi != POS_INF && hi < n;
        }

        Interval union(Interval o) {
            return new Interval(Math.min(lo, o.lo), Math.max(hi, o.hi));
        }
    }

    public static Interval of(Expr e, Map<String, Interval> vars) {
        if (e.type().isFloat()) return Interval.ALL;
        Interval r = switch (e) {
            case IntImm i -> Interval.point(i.value());
            case Var v -> vars.getOrDefault(v.name(), Interval.ALL);
            case Add(Expr a, Expr b) -> {
                Interval x = of(a, vars), y = of(b, vars);
                yield new Interval(add(x.lo, y.lo, NEG_INF), add(x.hi, y.hi, POS_INF));
            }
            case Sub(Expr a, Expr b) -> {
                Interval x = of(a, vars), y = of(b, vars);
                yield new Interval(add(x.lo, neg(y.hi, NEG_INF), NEG_INF), add(x.hi, neg(y.lo, POS_INF), POS_INF));
            }
            case Mul(Expr a, Expr b) -> mul(of(a, vars), of(b, vars));
            case Div(Expr a, Expr b) -> {
                Interval x = of(a, vars), y = of(b, vars);
                if (!y.isPoint() || y.lo <= 0) yield Interval.ALL;
                long c = y.lo;
                yield new Interval(x.lo == NEG_INF ? NEG_INF : Math.floorDiv(x.lo, c), x.hi == POS_INF ? POS_INF : Math.floorDiv(x.hi, c));
            }
            case Mod(Expr a, Expr b) -> {
                Interval x = of(a, vars), y = of(b, vars);
                if (!y.isPoint() || y.lo <= 0) yield Interval.ALL;
                if (x.within(y.lo)) yield x;
                yield new Interval(0, y.lo - 1);
            }
            case Min(Expr a, Expr b) -> {
                Interval x = of(a, vars), y = of(b, vars);
                yield new Interval(Math.min(x.lo, y.lo), Math.min(x.hi, y.hi));
            }
            case Max(Expr a, Expr b) -> {
                Interval x = of(a, vars), y = of(b, vars);
                yield new Interval(Math.max(x.lo, y.lo), Math.max(x.hi, y.hi));
            }
            case Select(Expr c, Expr t, Expr f) -> of(t, vars).union(of(f, vars));
            case Cast(var t, Expr v) -> {
                Interval x = v.type().isFloat() ? Interval.ALL : of(v, vars), range = typeRange(t.scalar());
                yield x.lo >= range.lo && x.hi <= range.hi ? x : range; // a narrowing cast may wrap
            }
            case Ramp(Expr base, Expr stride, int lanes) -> {
                Interval b = of(base, vars), s = mul(of(stride, vars), new Interval(0, lanes - 1));
                yield new Interval(add(b.lo, s.lo, NEG_INF), add(b.hi, s.hi, POS_INF));
            }
            case Broadcast(Expr v, int lanes) -> of(v, vars);
            case Cmp c -> new Interval(0, 1);
            case And a -> a.type().isBool() ? new Interval(0, 1) : Interval.ALL;
            case Or o -> o.type().isBool() ? new Interval(0, 1) : Interval.ALL;
            case Not n -> n.type().isBool() ? new Interval(0, 1) : Interval.ALL;
            default -> Interval.ALL;
        };
        return intersect(r, typeRange(e.type().scalar()));
    }

    /** The values a type can hold (as stored: unsigned 64-bit is not representable, so unbounded). */
    static Interval typeRange(ScalarType t) {
        return switch (t) {
            case BOOL -> new Interval(0, 1);
            case I8 -> new Interval(Byte.MIN_VALUE, Byte.MAX_VALUE);
            case I16 -> new Interval(Short.MIN_VALUE, Short.MAX_VALUE);
            case I32 -> new Interval(Integer.MIN_VALUE, Integer.MAX_VALUE);
            case U8 -> new Interval(0, 0xFF);
            case U16 -> new Interval(0, 0xFFFF);
            case U32 -> new Interval(0, 0xFFFFFFFFL);
            default -> Interval.ALL;
        };
    }

    private static Interval intersect(Interval a, Interval b) {
        long lo = Math.max(a.lo, b.lo), hi = Math.min(a.hi, b.hi);
        return lo > hi ? a : new Interval(lo, hi);
    }

    private static Interval mul(Interval x, Interval y) {
        if (x.lo == NEG_INF || x.hi == POS_INF || y.lo == NEG_INF || y.hi == POS_INF) {
            // Only the sign-preserving case with a non-negative constant stays useful.
            if (y.isPoint() && y.lo >= 0) return scale(x, y.lo);
            if (x.isPoint() && x.lo >= 0) return scale(y, x.lo);
            return Interval.ALL;
        }
        try {
            long a = Math.multiplyExact(x.lo, y.lo), b = Math.multiplyExact(x.lo, y.hi);
            long c = Math.multiplyExact(x.hi, y.lo), d = Math.multiplyExact(x.hi, y.hi);
            return new Interval(Math.min(Math.min(a, b), Math.min(c, d)), Math.max(Math.max(a, b), Math.max(c, d)));
        } catch (ArithmeticException overflow) {
            return Interval.ALL;
        }
    }

    private static Interval scale(Interval x, long c) {
        if (c == 0) return Interval.point(0);
        return new Interval(x.lo == NEG_INF ? NEG_INF : mulSat(x.lo, c, NEG_INF), x.hi == POS_INF ? POS_INF : mulSat(x.hi, c, POS_INF));
    }

    private static long mulSat(long a, long b, long inf) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return inf;
        }
    }

    /** a + b where an infinite operand or an overflow gives {@code inf}. */
    private static long add(long a, long b, long inf) {
        if (a == NEG_INF || a == POS_INF || b == NEG_INF || b == POS_INF) return inf;
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            return inf;
        }
    }

    private static long neg(long a, long inf) {
        return a == NEG_INF || a == POS_INF ? inf : -a;
    }
}
