package dev.kiln.irlow.transform;

import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.transform.Bounds.Interval;

/**
 * Simplifier rules for vectors: arithmetic on broadcasts is done on the scalar, and affine
 * combinations of ramps stay ramps ({@code ramp(b, s, n) + x4(c) -> ramp(b + c, s, n)}), which
 * is how vectorized indices become contiguous loads and stores.
 */
final class VectorRules {
    private VectorRules() {}

    private static boolean scalarRamp(Expr e) {
        return e instanceof Ramp r && !r.base().type().isVector();
    }

    private static boolean scalarBroadcast(Expr e) {
        return e instanceof Broadcast b && !b.value().type().isVector();
    }

    static Expr add(Simplify s, Expr a, Expr b) {
        if (a instanceof Broadcast(Expr x, int n) && b instanceof Broadcast(Expr y, int m) && scalarBroadcast(a) && scalarBroadcast(b))
            return new Broadcast(s.add(x, y), n);
        if (scalarRamp(a) && scalarBroadcast(b) && a instanceof Ramp(Expr base, Expr st, int n) && b instanceof Broadcast(Expr y, int m))
            return new Ramp(s.add(base, y), st, n);
        if (scalarBroadcast(a) && scalarRamp(b) && a instanceof Broadcast(Expr x, int m) && b instanceof Ramp(Expr base, Expr st, int n))
            return new Ramp(s.add(x, base), st, n);
        if (scalarRamp(a) && scalarRamp(b) && a instanceof Ramp(Expr b1, Expr s1, int n) && b instanceof Ramp(Expr b2, Expr s2, int m))
            return new Ramp(s.add(b1, b2), s.add(s1, s2), n);
        return new Add(a, b);
    }

    static Expr sub(Simplify s, Expr a, Expr b) {
        if (a instanceof Broadcast(Expr x, int n) && b instanceof Broadcast(Expr y, int m) && scalarBroadcast(a) && scalarBroadcast(b))
            return new Broadcast(s.sub(x, y), n);
        if (a.type().isInt()) {
            if (scalarRamp(a) && scalarBroadcast(b) && a instanceof Ramp(Expr base, Expr st, int n) && b instanceof Broadcast(Expr y, int m))
                return new Ramp(s.sub(base, y), st, n);
            if (scalarBroadcast(a) && scalarRamp(b) && a instanceof Broadcast(Expr x, int m) && b instanceof Ramp(Expr base, Expr st, int n))
                return new Ramp(s.sub(x, base), s.sub(Simplify.imm(st.type(), 0), st), n);
            if (scalarRamp(a) && scalarRamp(b) && a instanceof Ramp(Expr b1, Expr s1, int n) && b instanceof Ramp(Expr b2, Expr s2, int m))
                return new Ramp(s.sub(b1, b2), s.sub(s1, s2), n);
        }
        return new Sub(a, b);
    }

    static Expr mul(Simplify s, Expr a, Expr b) {
        if (a instanceof Broadcast(Expr x, int n) && b instanceof Broadcast(Expr y, int m) && scalarBroadcast(a) && scalarBroadcast(b))
            return new Broadcast(s.mul(x, y), n);
        if (a.type().isInt()) {
            if (scalarRamp(a) && scalarBroadcast(b) && a instanceof Ramp(Expr base, Expr st, int n) && b instanceof Broadcast(Expr y, int m))
                return new Ramp(s.mul(base, y), s.mul(st, y), n);
            if (scalarBroadcast(a) && scalarRamp(b) && a instanceof Broadcast(Expr x, int m) && b instanceof Ramp(Expr base, Expr st, int n))
                return new Ramp(s.mul(base, x), s.mul(st, x), n);
        }
        return new Mul(a, b);
    }

    /** ramp(b, s, n) / x(c): one broadcast when the whole ramp stays in one block of c. */
    static Expr div(Simplify s, Expr a, Expr b) {
        if (a instanceof Broadcast(Expr x, int n) && b instanceof Broadcast(Expr y, int m) && scalarBroadcast(a) && scalarBroadcast(b))
            return new Broadcast(s.div(x, y), n);
        Long c = divisor(b);
        if (c != null && scalarRamp(a) && a instanceof Ramp(Expr base, Expr st, int n)) {
            if (sameBlock(s, base, st, n, c)) return new Broadcast(s.div(base, Simplify.imm(base.type(), c)), n);
        }
        return new Div(a, b);
    }

    /** ramp(b, s, n) % x(c): ramp(b % c, s, n) when the whole ramp stays in one block of c. */
    static Expr mod(Simplify s, Expr a, Expr b) {
        if (a instanceof Broadcast(Expr x, int n) && b instanceof Broadcast(Expr y, int m) && scalarBroadcast(a) && scalarBroadcast(b))
            return new Broadcast(s.mod(x, y), n);
        Long c = divisor(b);
        if (c != null && scalarRamp(a) && a instanceof Ramp(Expr base, Expr st, int n)) {
            if (sameBlock(s, base, st, n, c)) return new Ramp(s.mod(base, Simplify.imm(base.type(), c)), st, n);
        }
        return new Mod(a, b);
    }

    static Expr cmp(Simplify s, CmpOp op, Expr a, Expr b) {
        if (a instanceof Broadcast(Expr x, int n) && b instanceof Broadcast(Expr y, int m) && scalarBroadcast(a) && scalarBroadcast(b))
            return new Broadcast(s.cmp(op, x, y), n);
        return new Cmp(op, a, b);
    }

    private static Long divisor(Expr b) {
        if (b.type().isInt() && b instanceof Broadcast(IntImm(Type t, long c), int n) && c > 0) return c;
        return null;
    }

    /**
     * Whether every lane of ramp(base, stride, n) provably has the same floor quotient by
     * c: base = p + r with p a multiple of c, 0 <= r and r + stride*(n-1) < c (constant stride >= 0),
     * or the bounds of the whole ramp lie in one block.
     */
    private static boolean sameBlock(Simplify s, Expr base, Expr stride, int n, long c) {
        Long st = Simplify.intConst(stride);
        if (st == null || st < 0) return false;
        long span = st * (n - 1);
        Expr p = base;
        long r = 0;
        if (base instanceof Add(Expr x, IntImm(Type t, long k))) {
            p = x;
            r = k;
        } else if (base instanceof IntImm(Type t, long k)) {
            p = Simplify.imm(t, 0);
            r = k;
        }
        if (s.exactDiv(p, c) != null) {
            long rr = Math.floorMod(r, c);
            if (rr + span < c) return true;
        }
        Interval lo = s.bounds(base);
        return lo.lo() != Bounds.NEG_INF && lo.hi() != Bounds.POS_INF && Math.floorDiv(lo.lo(), c) == Math.floorDiv(lo.hi() + span, c);
    }
}
