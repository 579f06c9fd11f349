package dev.kiln.irlow.transform;

import static dev.kiln.irlow.interp.Scalars.*;

import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.interp.Scalars;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds.Interval;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The arithmetic simplifier: constant folding, identities, a canonical form for index sums
 * (variables first, one constant last: {@code (x + 3) + 4 -> x + 7}), and div/mod rules proved
 * with the ranges of loop variables ({@code (o*8 + i)/8 -> o} when {@code 0 <= i < 8}). On
 * statements it drops loops of extent 1 and ifs whose condition is provably true or false, and
 * substitutes lets of constants and variables. Each rule is one readable case; rules build their
 * results with the same rules, so results come out simplified.
 */
public final class Simplify {
    private final Map<String, Interval> ranges;

    Simplify(Map<String, Interval> ranges) {
        this.ranges = new HashMap<>(ranges);
    }

    public static PrimFunc run(PrimFunc f) {
        return f.withBody(run(f.body()));
    }

    public static Stmt run(Stmt s) {
        for (int i = 0; i < 8; i++) { // rules are applied bottom-up; a second pass catches what a rewrite exposed above
            Stmt next = new Simplify(Map.of()).stmt(s);
            if (next.equals(s)) return next;
            s = next;
        }
        return s;
    }

    public static Expr expr(Expr e) {
        return expr(e, Map.of());
    }

    /** Simplifies {@code e} knowing the ranges of some variables. */
    public static Expr expr(Expr e, Map<String, Interval> ranges) {
        return new Simplify(ranges).simplify(e);
    }

    static final Stmt EMPTY = new Stmt.Seq(List.of());

    // ---- statements ----

    private Stmt stmt(Stmt s) {
        return switch (s) {
            case Stmt.For f -> loop(f);
            case Stmt.Store(var buf, Expr index, Expr value) -> new Stmt.Store(buf, simplify(index), simplify(value));
            case Stmt.LetStmt(Var v, Expr value, Stmt body) -> {
                Expr val = simplify(value);
                if (val instanceof IntImm || val instanceof FloatImm || val instanceof Var) yield stmt(Substitute.stmt(body, v.name(), val));
                Stmt b = within(v.name(), bounds(val), () -> stmt(body));
                yield Vars.usedIn(b, v.name()) ? new Stmt.LetStmt(v, val, b) : b;
            }
            case Stmt.IfThenElse(Expr c, Stmt then, Stmt otherwise) -> {
                Expr cond = simplify(c);
                if (cond instanceof IntImm(Type t, long v)) yield v != 0 ? stmt(then) : otherwise == null ? EMPTY : stmt(otherwise);
                Stmt t = stmt(then), o = otherwise == null ? null : stmt(otherwise);
                if (o != null && isEmpty(o)) o = null;
                if (isEmpty(t)) yield o == null ? EMPTY : new Stmt.IfThenElse(not(cond), o, null);
                yield new Stmt.IfThenElse(cond, t, o);
            }
            case Stmt.Allocate(var buf, Stmt body) -> {
                Stmt b = stmt(body);
                yield isEmpty(b) ? EMPTY : new Stmt.Allocate(buf, b);
            }
            case Stmt.Barrier b -> b;
            case Stmt.Seq(var stmts) -> {
                List<Stmt> out = new ArrayList<>();
                for (Stmt x : stmts) {
                    Stmt y = stmt(x);
                    if (y instanceof Stmt.Seq(var inner)) out.addAll(inner);
                    else out.add(y);
                }
                yield out.size() == 1 ? out.get(0) : new Stmt.Seq(out);
            }
        };
    }

    private Stmt loop(Stmt.For f) {
        Expr min = simplify(f.min()), ext = simplify(f.extent());
        String name = f.var().name();
        if (ext instanceof IntImm(Type t, long n) && n <= 0) return EMPTY;
        // A GPU-bound loop stays even at extent 1: it is part of the launch shape.
        if (ext instanceof IntImm(Type t, long n) && n == 1 && !f.kind().isGpu()) return stmt(Substitute.stmt(f.body(), name, min));
        Interval m = bounds(min), e = bounds(ext);
        long hi = m.hi() == Bounds.POS_INF || e.hi() == Bounds.POS_INF ? Bounds.POS_INF : m.hi() + e.hi() - 1;
        Stmt body = within(name, new Interval(m.lo(), hi), () -> stmt(f.body()));
        return isEmpty(body) ? EMPTY : new Stmt.For(f.var(), min, ext, f.kind(), body);
    }

    private Stmt within(String var, Interval range, java.util.function.Supplier<Stmt> body) {
        Interval old = ranges.put(var, range);
        try {
            return body.get();
        } finally {
            if (old == null) ranges.remove(var);
            else ranges.put(var, old);
        }
    }

    static boolean isEmpty(Stmt s) {
        return s instanceof Stmt.Seq(var stmts) && stmts.isEmpty();
    }

    // ---- expressions ----

    Expr simplify(Expr e) {
        Expr x = Children.map(e, this::simplify);
        return switch (x) {
            case Add(Expr a, Expr b) -> add(a, b);
            case Sub(Expr a, Expr b) -> sub(a, b);
            case Mul(Expr a, Expr b) -> mul(a, b);
            case Div(Expr a, Expr b) -> div(a, b);
            case Mod(Expr a, Expr b) -> mod(a, b);
            case Min(Expr a, Expr b) -> min(a, b);
            case Max(Expr a, Expr b) -> max(a, b);
            case Cmp(CmpOp op, Expr a, Expr b) -> cmp(op, a, b);
            case And(Expr a, Expr b) -> and(a, b);
            case Or(Expr a, Expr b) -> or(a, b);
            case Not(Expr a) -> not(a);
            case Select(Expr c, Expr t, Expr f) -> select(c, t, f);
            case Cast(Type t, Expr v) -> cast(t, v);
            default -> x;
        };
    }

    Interval bounds(Expr e) {
        return Bounds.of(e, ranges);
    }

    static Long intConst(Expr e) {
        return e instanceof IntImm(Type t, long v) && !t.isVector() ? v : null;
    }

    static Double floatConst(Expr e) {
        return e instanceof FloatImm(Type t, double v) && !t.isVector() ? v : null;
    }

    static IntImm imm(Type t, long v) {
        return new IntImm(t, wrap(t.scalar(), v));
    }

    static FloatImm fimm(Type t, double v) {
        return new FloatImm(t, round(t.scalar(), v));
    }

    private static boolean isInt(Expr e) {
        return e.type().isInt() && !e.type().isVector();
    }

    private static boolean isConst(Expr e, double v) {
        return intConst(e) != null ? intConst(e) == v : floatConst(e) != null && floatConst(e) == v;
    }

    // ---- + - * ----

    Expr add(Expr a, Expr b) {
        Type t = a.type();
        if (t.isVector()) return VectorRules.add(this, a, b);
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return imm(t, x + y);
        if (floatConst(a) != null && floatConst(b) != null) return fimm(t, floatConst(a) + floatConst(b));
        if (isConst(b, 0)) return a;
        if (isConst(a, 0)) return b;
        if (!isInt(a)) return new Add(a, b);
        if (x != null) return add(b, a);                                                   // c + x -> x + c
        if (y != null && a instanceof Add(Expr p, IntImm(Type u, long c))) return add(p, imm(t, c + y)); // (x + c1) + c2
        if (y == null && a instanceof Add(Expr p, IntImm c)) return add(add(p, b), c);    // (x + c) + y -> (x + y) + c
        if (b instanceof Add(Expr q, IntImm c)) return add(add(a, q), c);                 // x + (y + c) -> (x + y) + c
        if (a instanceof Mul(Expr p, IntImm(Type u, long c1)) && b instanceof Mul(Expr q, IntImm(Type w, long c2)) && p.equals(q))
            return mul(p, imm(t, c1 + c2));                                               // x*c1 + x*c2 -> x*(c1 + c2)
        return new Add(a, b);
    }

    Expr sub(Expr a, Expr b) {
        Type t = a.type();
        if (t.isVector()) return VectorRules.sub(this, a, b);
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return imm(t, x - y);
        if (floatConst(a) != null && floatConst(b) != null) return fimm(t, floatConst(a) - floatConst(b));
        if (isConst(b, 0)) return a;
        if (!isInt(a)) return new Sub(a, b);
        if (a.equals(b)) return imm(t, 0);
        if (y != null) return add(a, imm(t, -y));                                         // x - c -> x + (-c)
        if (a instanceof Add(Expr p, IntImm c)) return add(sub(p, b), c);                 // (x + c) - y -> (x - y) + c
        if (b instanceof Add(Expr q, IntImm(Type u, long c))) return add(sub(a, q), imm(t, -c)); // x - (y + c) -> (x - y) - c
        if (a instanceof Add(Expr p, Expr q) && q.equals(b)) return p;                    // (x + y) - y -> x
        if (a instanceof Add(Expr p, Expr q) && p.equals(b)) return q;                    // (x + y) - x -> y
        if (a instanceof Mul(Expr p, IntImm(Type u, long c1)) && b instanceof Mul(Expr q, IntImm(Type w, long c2)) && p.equals(q))
            return mul(p, imm(t, c1 - c2));
        return new Sub(a, b);
    }

    Expr mul(Expr a, Expr b) {
        Type t = a.type();
        if (t.isVector()) return VectorRules.mul(this, a, b);
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return imm(t, x * y);
        if (floatConst(a) != null && floatConst(b) != null) return fimm(t, floatConst(a) * floatConst(b));
        if (isConst(b, 1)) return a;
        if (isConst(a, 1)) return b;
        if (!isInt(a)) return new Mul(a, b);
        if (x != null) return mul(b, a);                                                   // c * x -> x * c
        if (y != null && y == 0) return imm(t, 0);
        if (y != null && a instanceof Mul(Expr p, IntImm(Type u, long c))) return mul(p, imm(t, c * y)); // (x*c1)*c2
        if (y != null && a instanceof Add(Expr p, IntImm(Type u, long c))) return add(mul(p, b), imm(t, c * y)); // (x + c1)*c2
        return new Mul(a, b);
    }

    // ---- / % (floor semantics) ----

    Expr div(Expr a, Expr b) {
        Type t = a.type();
        if (t.isVector()) return VectorRules.div(this, a, b);
        Long x = intConst(a), y = intConst(b);
        if (floatConst(a) != null && floatConst(b) != null) return fimm(t, floatConst(a) / floatConst(b));
        if (isConst(b, 1)) return a;
        if (!isInt(a) || y == null || y <= 0 || t.scalar() == ScalarType.U64) {
            if (x != null && y != null && y != 0) return imm(t, floorDiv(t.scalar(), x, y));
            return new Div(a, b);
        }
        long c = y;
        if (x != null) return imm(t, Math.floorDiv(x, c));
        Interval r = bounds(a);
        if (finite(r) && Math.floorDiv(r.lo(), c) == Math.floorDiv(r.hi(), c)) return imm(t, Math.floorDiv(r.lo(), c));
        Expr exact = exactDiv(a, c);
        if (exact != null) return exact;                                                  // (x*8)/8 -> x
        if (a instanceof Add(Expr p, Expr q)) {
            Expr ep = exactDiv(p, c), eq = exactDiv(q, c);
            if (ep != null) return add(ep, div(q, b));                                    // (x*c + y)/c -> x + y/c
            if (eq != null) return add(div(p, b), eq);
            for (Expr[] pq : new Expr[][] {{p, q}, {q, p}}) {                             // (x*8 + i)/16 -> x/2 when 0 <= i < 8
                long g = gcd(factor(pq[0]), c);
                if (g > 1 && bounds(pq[1]).within(g)) return div(exactDiv(pq[0], g), imm(t, c / g));
            }
        }
        if (a instanceof Mul(Expr p, IntImm(Type u, long k)) && k > 0 && c % k == 0) return div(p, imm(t, c / k)); // (x*4)/8 -> x/2
        if (a instanceof Div(Expr p, IntImm(Type u, long k)) && k > 0 && Math.abs(k) < (1L << 31) && c < (1L << 31))
            return div(p, imm(t, k * c));                                                 // (x/a)/b -> x/(a*b)
        return new Div(a, b);
    }

    Expr mod(Expr a, Expr b) {
        Type t = a.type();
        if (t.isVector()) return VectorRules.mod(this, a, b);
        Long x = intConst(a), y = intConst(b);
        if (floatConst(a) != null && floatConst(b) != null) return fimm(t, floatConst(a) % floatConst(b));
        if (!isInt(a) || y == null || y <= 0 || t.scalar() == ScalarType.U64) {
            if (x != null && y != null && y != 0) return imm(t, floorMod(t.scalar(), x, y));
            return new Mod(a, b);
        }
        long c = y;
        if (c == 1) return imm(t, 0);
        if (x != null) return imm(t, Math.floorMod(x, c));
        Interval r = bounds(a);
        if (finite(r) && Math.floorDiv(r.lo(), c) == Math.floorDiv(r.hi(), c)) {         // i % 8 -> i when 0 <= i < 8
            long q = Math.floorDiv(r.lo(), c);
            return q == 0 ? a : sub(a, imm(t, q * c));
        }
        if (exactDiv(a, c) != null) return imm(t, 0);                                     // (x*8) % 8 -> 0
        if (a instanceof Add(Expr p, Expr q)) {
            if (exactDiv(p, c) != null) return mod(q, b);                                 // (x*8 + i) % 8 -> i % 8
            if (exactDiv(q, c) != null) return mod(p, b);
            for (Expr[] pq : new Expr[][] {{p, q}, {q, p}}) {                             // (x*8 + i) % 16 -> (x % 2)*8 + i
                long g = gcd(factor(pq[0]), c);
                if (g > 1 && bounds(pq[1]).within(g)) return add(mul(mod(exactDiv(pq[0], g), imm(t, c / g)), imm(t, g)), pq[1]);
            }
        }
        if (a instanceof Mod(Expr p, IntImm(Type u, long k)) && k > 0 && k % c == 0) return mod(p, b); // (x % 16) % 8 -> x % 8
        return new Mod(a, b);
    }

    /** {@code e / c} when {@code e} is provably a multiple of {@code c > 0}, else null. */
    Expr exactDiv(Expr e, long c) {
        if (c == 1) return e;
        return switch (e) {
            case IntImm(Type t, long v) when !t.isVector() -> v % c == 0 ? imm(t, v / c) : null;
            case Mul(Expr p, IntImm(Type t, long k)) when !t.isVector() -> {
                long g = gcd(Math.abs(k), c);
                Expr inner = exactDiv(p, c / g);
                yield inner == null ? null : mul(inner, imm(t, k / g));
            }
            case Add(Expr p, Expr q) -> {
                Expr x = exactDiv(p, c), y = x == null ? null : exactDiv(q, c);
                yield y == null ? null : add(x, y);
            }
            case Sub(Expr p, Expr q) -> {
                Expr x = exactDiv(p, c), y = x == null ? null : exactDiv(q, c);
                yield y == null ? null : sub(x, y);
            }
            default -> null;
        };
    }

    /** A positive number that provably divides {@code e} (0 for the constant 0). */
    static long factor(Expr e) {
        return switch (e) {
            case IntImm(Type t, long v) -> Math.abs(v);
            case Mul(Expr p, IntImm(Type t, long k)) -> {
                long f = factor(p);
                yield f != 0 && Math.abs(k) < (1L << 31) && f < (1L << 31) ? Math.abs(k) * f : Math.max(1, Math.abs(k));
            }
            case Add(Expr p, Expr q) -> gcd(factor(p), factor(q));
            case Sub(Expr p, Expr q) -> gcd(factor(p), factor(q));
            default -> 1;
        };
    }

    static long gcd(long a, long b) {
        a = Math.abs(a);
        b = Math.abs(b);
        while (b != 0) {
            long r = a % b;
            a = b;
            b = r;
        }
        return a;
    }

    private static boolean finite(Interval r) {
        return r.lo() != Bounds.NEG_INF && r.hi() != Bounds.POS_INF;
    }

    // ---- min max ----

    Expr min(Expr a, Expr b) {
        Type t = a.type();
        if (a.equals(b)) return a;
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return compare(t.scalar(), x, y) <= 0 ? a : b;
        if (floatConst(a) != null && floatConst(b) != null) return fimm(t, Math.min(floatConst(a), floatConst(b)));
        if (!isInt(a)) return new Min(a, b);
        if (x != null) return min(b, a);
        Interval ra = bounds(a), rb = bounds(b);
        if (ra.hi() <= rb.lo()) return a;
        if (rb.hi() <= ra.lo()) return b;
        return new Min(a, b);
    }

    Expr max(Expr a, Expr b) {
        Type t = a.type();
        if (a.equals(b)) return a;
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return compare(t.scalar(), x, y) >= 0 ? a : b;
        if (floatConst(a) != null && floatConst(b) != null) return fimm(t, Math.max(floatConst(a), floatConst(b)));
        if (!isInt(a)) return new Max(a, b);
        if (x != null) return max(b, a);
        Interval ra = bounds(a), rb = bounds(b);
        if (ra.lo() >= rb.hi()) return a;
        if (rb.lo() >= ra.hi()) return b;
        return new Max(a, b);
    }

    // ---- comparisons and logic ----

    Expr cmp(CmpOp op, Expr a, Expr b) {
        Type bool = new Type(ScalarType.BOOL, a.type().lanes());
        if (a.type().isVector()) return VectorRules.cmp(this, op, a, b);
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return imm(bool, Scalars.cmp(op, compare(a.type().scalar(), x, y)) ? 1 : 0);
        if (floatConst(a) != null && floatConst(b) != null) return imm(bool, Scalars.cmp(op, floatConst(a), floatConst(b)) ? 1 : 0);
        if (!isInt(a) || !a.type().scalar().isSigned) return new Cmp(op, a, b);
        // Decide from the range of a - b: exact for the (64-bit) index type, where nothing wraps.
        Interval d;
        if (a.type().scalar() == ScalarType.I64) d = bounds(sub(a, b));
        else {
            Interval ra = bounds(a), rb = bounds(b);
            d = finite(ra) && finite(rb) ? new Interval(ra.lo() - rb.hi(), ra.hi() - rb.lo()) : Interval.ALL;
        }
        Boolean known = switch (op) {
            case LT -> d.hi() < 0 ? Boolean.TRUE : d.lo() >= 0 ? Boolean.FALSE : null;
            case LE -> d.hi() <= 0 ? Boolean.TRUE : d.lo() > 0 ? Boolean.FALSE : null;
            case GT -> d.lo() > 0 ? Boolean.TRUE : d.hi() <= 0 ? Boolean.FALSE : null;
            case GE -> d.lo() >= 0 ? Boolean.TRUE : d.hi() < 0 ? Boolean.FALSE : null;
            case EQ -> d.isPoint() && d.lo() == 0 ? Boolean.TRUE : d.lo() > 0 || d.hi() < 0 ? Boolean.FALSE : null;
            case NE -> d.isPoint() && d.lo() == 0 ? Boolean.FALSE : d.lo() > 0 || d.hi() < 0 ? Boolean.TRUE : null;
        };
        if (known != null) return imm(bool, known ? 1 : 0);
        return new Cmp(op, a, b);
    }

    Expr and(Expr a, Expr b) {
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return imm(a.type(), x & y);
        if (!a.type().isBool()) return new And(a, b);
        if (x != null) return x == 0 ? a : b;
        if (y != null) return y == 0 ? b : a;
        if (a.equals(b)) return a;
        return new And(a, b);
    }

    Expr or(Expr a, Expr b) {
        Long x = intConst(a), y = intConst(b);
        if (x != null && y != null) return imm(a.type(), x | y);
        if (!a.type().isBool()) return new Or(a, b);
        if (x != null) return x != 0 ? a : b;
        if (y != null) return y != 0 ? b : a;
        if (a.equals(b)) return a;
        return new Or(a, b);
    }

    Expr not(Expr a) {
        Long x = intConst(a);
        if (x != null) return a.type().isBool() ? imm(a.type(), x ^ 1) : imm(a.type(), ~x);
        if (a instanceof Not(Expr p)) return p;
        if (a instanceof Cmp(CmpOp op, Expr p, Expr q) && !p.type().isFloat()) { // for floats, NaN makes !(a < b) differ from a >= b
            CmpOp neg = switch (op) {
                case EQ -> CmpOp.NE;
                case NE -> CmpOp.EQ;
                case LT -> CmpOp.GE;
                case LE -> CmpOp.GT;
                case GT -> CmpOp.LE;
                case GE -> CmpOp.LT;
            };
            return cmp(neg, p, q);
        }
        return new Not(a);
    }

    Expr select(Expr c, Expr t, Expr f) {
        Long x = intConst(c);
        if (x != null) return x != 0 ? t : f;
        if (t.equals(f)) return t;
        return new Select(c, t, f);
    }

    Expr cast(Type to, Expr v) {
        if (v.type().equals(to)) return v;
        Long x = intConst(v);
        Double d = floatConst(v);
        if (x != null) return to.isFloat() ? fimm(to, toDouble(v.type().scalar(), x)) : imm(to, x);
        if (d != null) return to.isFloat() ? fimm(to, d) : imm(to, fromDouble(to.scalar(), d));
        return new Cast(to, v);
    }
}
