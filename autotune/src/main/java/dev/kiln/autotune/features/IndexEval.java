package dev.kiln.autotune.features;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import java.util.Map;

/**
 * Evaluates integer index expressions at chosen values of the loop variables, so the features
 * can take strides as finite differences ({@code index(v=1) - index(v=0)}). Deliberately
 * forgiving: a variable it does not know reads as 0 (and is remembered), a data-dependent load
 * reads as 0, and division by zero gives 0, because features must come out of any IR.
 */
final class IndexEval {
    /** Let bindings in scope, innermost first. */
    record Lets(String name, Expr value, Lets next) {
        Expr lookup(String n) {
            for (Lets l = this; l != null; l = l.next) if (l.name.equals(n)) return l.value;
            return null;
        }
    }

    private static final int MAX_LET_DEPTH = 32;

    private final Map<String, Long> env;
    private final Lets lets;
    private boolean unknown;

    private IndexEval(Map<String, Long> env, Lets lets) {
        this.env = env;
        this.lets = lets;
    }

    /** {@code e} with the variables in {@code env} set, lets resolved and every other variable 0 (lane 0 of a vector). */
    static long eval(Expr e, Map<String, Long> env, Lets lets) {
        return new IndexEval(env, lets).go(e, 0);
    }

    /** The value of {@code e} when it depends on no loop variable (through lets too), else null. */
    static Long constant(Expr e, Lets lets) {
        IndexEval ev = new IndexEval(Map.of(), lets);
        long v = ev.go(e, 0);
        return ev.unknown ? null : v;
    }

    private long go(Expr e, int depth) {
        return switch (e) {
            case IntImm i -> i.value();
            case FloatImm f -> (long) f.value();
            case Var v -> variable(v.name(), depth);
            case Add(Expr a, Expr b) -> go(a, depth) + go(b, depth);
            case Sub(Expr a, Expr b) -> go(a, depth) - go(b, depth);
            case Mul(Expr a, Expr b) -> go(a, depth) * go(b, depth);
            case Div(Expr a, Expr b) -> {
                long x = go(a, depth), y = go(b, depth);
                yield y == 0 ? 0 : Math.floorDiv(x, y);
            }
            case Mod(Expr a, Expr b) -> {
                long x = go(a, depth), y = go(b, depth);
                yield y == 0 ? 0 : Math.floorMod(x, y);
            }
            case Min(Expr a, Expr b) -> Math.min(go(a, depth), go(b, depth));
            case Max(Expr a, Expr b) -> Math.max(go(a, depth), go(b, depth));
            case Cmp(var op, Expr a, Expr b) -> {
                long x = go(a, depth), y = go(b, depth);
                boolean r = switch (op) {
                    case EQ -> x == y;
                    case NE -> x != y;
                    case LT -> x < y;
                    case LE -> x <= y;
                    case GT -> x > y;
                    case GE -> x >= y;
                };
                yield r ? 1 : 0;
            }
            case And(Expr a, Expr b) -> (go(a, depth) != 0 && go(b, depth) != 0) ? 1 : 0;
            case Or(Expr a, Expr b) -> (go(a, depth) != 0 || go(b, depth) != 0) ? 1 : 0;
            case Not(Expr a) -> go(a, depth) == 0 ? 1 : 0;
            case Select(Expr c, Expr t, Expr f) -> go(c, depth) != 0 ? go(t, depth) : go(f, depth);
            case Cast(var t, Expr v) -> go(v, depth);
            case Ramp(Expr base, Expr stride, int lanes) -> go(base, depth);
            case Broadcast(Expr v, int lanes) -> go(v, depth);
            case Load l -> {
                unknown = true; // the index depends on data
                yield 0;
            }
            case Call c -> {
                unknown = true;
                yield 0;
            }
            case TensorRead t -> {
                unknown = true;
                yield 0;
            }
            case Reduce r -> {
                unknown = true;
                yield 0;
            }
        };
    }

    private long variable(String name, int depth) {
        Long v = env.get(name);
        if (v != null) return v;
        Expr bound = lets == null ? null : lets.lookup(name);
        if (bound != null && depth < MAX_LET_DEPTH) return go(bound, depth + 1);
        unknown = true;
        return 0;
    }
}
