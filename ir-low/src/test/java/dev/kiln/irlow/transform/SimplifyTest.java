package dev.kiln.irlow.transform;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Printer;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.interp.Interpreter;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds.Interval;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Rules as IR before/after (TVM style), then a fuzz test of soundness against the interpreter. */
class SimplifyTest {
    static final Expr.Var x = var("x"), y = var("y"), o = var("o"), i = var("i");
    static final Map<String, Interval> OI = Map.of("o", new Interval(0, 99), "i", new Interval(0, 7));

    static void check(Expr before, Expr after) {
        assertEquals(after, Simplify.expr(before), () -> "simplifying " + Printer.print(before));
    }

    static void check(Expr before, Expr after, Map<String, Interval> ranges) {
        assertEquals(after, Simplify.expr(before, ranges), () -> "simplifying " + Printer.print(before));
    }

    @Test
    void constantFoldingOfEveryType() {
        check(add(idx(3), idx(4)), idx(7));
        check(div(idx(-7), idx(2)), idx(-4));
        check(mod(idx(-7), idx(2)), idx(1));
        check(mod(idx(7), idx(-2)), idx(-1));
        check(add(intImm(ScalarType.I8, 127), intImm(ScalarType.I8, 1)), intImm(ScalarType.I8, -128));
        check(add(f32(0.1), f32(0.2)), f32((float) ((double) 0.1f + (double) 0.2f)));
        check(mul(new Expr.FloatImm(Type.F64, 1.5), new Expr.FloatImm(Type.F64, 2)), new Expr.FloatImm(Type.F64, 3));
        check(min(idx(3), idx(5)), idx(3));
        check(max(f32(3), f32(5)), f32(5));
        check(lt(idx(3), idx(5)), new Expr.IntImm(Type.BOOL, 1));
        check(cast(ScalarType.I32, f32(-2.7)), intImm(ScalarType.I32, -2));
        check(select(lt(idx(1), idx(0)), x, y), y);
    }

    @Test
    void identities() {
        check(add(x, idx(0)), x);
        check(mul(x, idx(1)), x);
        check(mul(x, idx(0)), idx(0));
        check(sub(x, x), idx(0));
        check(div(x, idx(1)), x);
        check(mod(x, idx(1)), idx(0));
        check(min(x, x), x);
        Expr fx = new Expr.Var("fx", Type.F32);
        check(mul(fx, f32(1)), fx);
        check(mul(fx, f32(0)), mul(fx, f32(0))); // NaN * 0 is NaN: kept
        check(sub(fx, fx), sub(fx, fx));
    }

    @Test
    void canonicalSums() {
        check(add(add(x, idx(3)), idx(4)), add(x, idx(7)));
        check(add(idx(3), x), add(x, idx(3)));
        check(mul(mul(x, idx(2)), idx(3)), mul(x, idx(6)));
        check(sub(x, idx(3)), add(x, idx(-3)));
        check(add(add(x, idx(3)), y), add(add(x, y), idx(3)));
        check(mul(add(x, idx(2)), idx(4)), add(mul(x, idx(4)), idx(8)));
        check(sub(add(x, y), y), x);
        check(add(mul(x, idx(2)), mul(x, idx(3))), mul(x, idx(5)));
    }

    @Test
    void divModWithLoopRanges() {
        Expr oi = add(mul(o, idx(8)), i);
        check(div(oi, idx(8)), o, OI);
        check(mod(oi, idx(8)), i, OI);
        check(div(oi, idx(16)), div(o, idx(2)), OI);
        check(mod(oi, idx(16)), add(mul(mod(o, idx(2)), idx(8)), i), OI);
        check(div(i, idx(8)), idx(0), OI);
        check(mod(add(i, idx(8)), idx(8)), i, OI);
        check(div(add(mul(o, idx(16)), mul(i, idx(2))), idx(16)), o, OI);
        check(div(oi, idx(8)), add(o, div(i, idx(8))), Map.of()); // without ranges i/8 stays
        check(div(add(mul(o, idx(8)), x), idx(16)), div(add(mul(o, idx(8)), x), idx(16)), OI); // x unbounded
        check(div(div(x, idx(4)), idx(2)), div(x, idx(8)));
        check(mod(mod(x, idx(16)), idx(8)), mod(x, idx(8)));
        check(lt(oi, idx(800)), new Expr.IntImm(Type.BOOL, 1), OI);
        check(lt(add(mul(o, idx(8)), i), add(mul(o, idx(8)), idx(8))), new Expr.IntImm(Type.BOOL, 1), OI);
    }

    @Test
    void vectorRampsStayRamps() {
        Expr r = new Expr.Ramp(x, idx(1), 4);
        check(add(r, new Expr.Broadcast(idx(3), 4)), new Expr.Ramp(add(x, idx(3)), idx(1), 4));
        check(mul(r, new Expr.Broadcast(idx(2), 4)), new Expr.Ramp(mul(x, idx(2)), idx(2), 4));
        Expr blk = new Expr.Ramp(mul(o, idx(8)), idx(1), 4);
        check(div(blk, new Expr.Broadcast(idx(8), 4)), new Expr.Broadcast(o, 4));
        check(mod(blk, new Expr.Broadcast(idx(8), 4)), new Expr.Ramp(idx(0), idx(1), 4));
    }

    @Test
    void loopsOfExtentOneAndProvableIfsGo() {
        Buffer a = new Buffer("A", ScalarType.F32, 8);
        Stmt store = new Stmt.Store(a, add(mul(o, idx(4)), i), f32(1));
        Stmt before = new Stmt.For(o, idx(0), idx(1), ForKind.SERIAL,
                new Stmt.For(i, idx(0), idx(4), ForKind.SERIAL, new Stmt.IfThenElse(lt(add(mul(o, idx(4)), i), idx(4)), store, null)));
        Stmt after = new Stmt.For(i, idx(0), idx(4), ForKind.SERIAL, new Stmt.Store(a, i, f32(1)));
        assertEquals(after, Simplify.run(before));

        Stmt never = new Stmt.For(i, idx(0), idx(4), ForKind.SERIAL, new Stmt.IfThenElse(ge(i, idx(4)), store, null));
        assertEquals(new Stmt.Seq(List.of()), Simplify.run(never));

        Stmt gpu = new Stmt.For(o, idx(0), idx(1), ForKind.GPU_BLOCK_X, new Stmt.Store(a, o, f32(1)));
        assertEquals(gpu, Simplify.run(gpu), "a GPU-bound loop of extent 1 stays");
    }

    @Test
    void letsOfConstantsAndVarsAreSubstituted() {
        Buffer a = new Buffer("A", ScalarType.F32, 8);
        Stmt before = new Stmt.LetStmt(x, idx(3), new Stmt.LetStmt(y, i, new Stmt.Store(a, add(x, y), f32(0))));
        assertEquals(new Stmt.Store(a, add(i, idx(3)), f32(0)), Simplify.run(before));
        Stmt kept = new Stmt.LetStmt(x, mul(i, i), new Stmt.Store(a, x, f32(0)));
        assertEquals(kept, Simplify.run(kept));
    }

    @Test
    void nestedSeqsFlatten() {
        Buffer a = new Buffer("A", ScalarType.F32, 8);
        Stmt s1 = new Stmt.Store(a, idx(0), f32(0)), s2 = new Stmt.Store(a, idx(1), f32(0));
        assertEquals(new Stmt.Seq(List.of(s1, s2)), Simplify.run(new Stmt.Seq(List.of(new Stmt.Seq(List.of(s1)), new Stmt.Seq(List.of()), s2))));
    }

    // ---- soundness ----

    static Expr randomIndex(Random r, int depth) {
        if (depth == 0 || r.nextInt(4) == 0) {
            return switch (r.nextInt(4)) {
                case 0 -> idx(r.nextInt(21) - 10);
                case 1 -> var("a");
                case 2 -> var("b");
                default -> var("c");
            };
        }
        Expr p = randomIndex(r, depth - 1), q = randomIndex(r, depth - 1);
        Expr k = idx(1 + r.nextInt(r.nextBoolean() ? 4 : 16));
        return switch (r.nextInt(9)) {
            case 0, 1 -> add(p, q);
            case 2 -> sub(p, q);
            case 3 -> mul(p, idx(r.nextInt(9) - 2));
            case 4 -> div(p, k);
            case 5 -> mod(p, k);
            case 6 -> min(p, q);
            case 7 -> max(p, q);
            default -> select(cmp(CmpOp.values()[r.nextInt(6)], p, q), p, q);
        };
    }

    @Test
    void simplifiedExpressionsComputeTheSameValues() {
        Random r = new Random(11);
        Buffer out = new Buffer("out", ScalarType.I64, 3 * 5 * 16);
        Expr.Var a = var("a"), b = var("b"), c = var("c");
        for (int t = 0; t < 400; t++) {
            Expr e = randomIndex(r, 5);
            Expr flat = add(mul(a, idx(80)), add(mul(b, idx(16)), c));
            Stmt s = new Stmt.For(a, idx(0), idx(3), ForKind.SERIAL, new Stmt.For(b, idx(-2), idx(5), ForKind.SERIAL,
                    new Stmt.For(c, idx(0), idx(16), ForKind.SERIAL, new Stmt.Store(out, add(flat, idx(32)), e))));
            Stmt simple = Simplify.run(s);
            long[] want = new long[240], got = new long[240];
            Interpreter.run(new PrimFunc("f", List.of(out), s), List.of(want));
            Interpreter.run(new PrimFunc("f", List.of(out), simple), List.of(got));
            assertArrayEquals(want, got, () -> "simplifying " + Printer.print(e) + "\ngave " + Printer.print(simple));
        }
    }
}
