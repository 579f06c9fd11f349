package dev.kiln.irlow;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Loop IR as readable TVM-like text, for dumps and error messages:
 * <pre>
 * parallel (C.i0, 0, 1024) {
 *   vectorized (C.i1.i, 0, 16) {
 *     C[C.i0*1024 + C.i1.o*16 + C.i1.i] = ...
 *   }
 * }
 * </pre>
 * Operators follow C precedence; integer / and % are floor division and modulo.
 */
public final class Printer {
    private Printer() {}

    public static String print(PrimFunc f) {
        StringBuilder sb = new StringBuilder("func ").append(f.name()).append('(');
        sb.append(f.params().stream().map(b -> b.name() + ": " + typeName(b.dtype()) + "[" + b.size() + "]").collect(Collectors.joining(", ")));
        sb.append(") {\n");
        stmt(f.body(), 1, sb);
        return sb.append("}\n").toString();
    }

    public static String print(Stmt s) {
        StringBuilder sb = new StringBuilder();
        stmt(s, 0, sb);
        return sb.toString();
    }

    public static String print(Expr e) {
        return expr(e, 0);
    }

    private static void stmt(Stmt s, int depth, StringBuilder sb) {
        String pad = "  ".repeat(depth);
        switch (s) {
            case Stmt.For(Var v, Expr min, Expr ext, ForKind kind, Stmt body) -> {
                sb.append(pad).append(kindName(kind)).append(" (").append(v.name()).append(", ").append(print(min))
                        .append(", ").append(print(ext)).append(") {\n");
                stmt(body, depth + 1, sb);
                sb.append(pad).append("}\n");
            }
            case Stmt.Store(Buffer b, Expr index, Expr value) ->
                    sb.append(pad).append(b.name()).append('[').append(print(index)).append("] = ").append(print(value)).append('\n');
            case Stmt.LetStmt(Var v, Expr value, Stmt body) -> {
                sb.append(pad).append("let ").append(v.name()).append(" = ").append(print(value)).append('\n');
                stmt(body, depth, sb);
            }
            case Stmt.IfThenElse(Expr c, Stmt then, Stmt otherwise) -> {
                sb.append(pad).append("if (").append(print(c)).append(") {\n");
                stmt(then, depth + 1, sb);
                if (otherwise != null) {
                    sb.append(pad).append("} else {\n");
                    stmt(otherwise, depth + 1, sb);
                }
                sb.append(pad).append("}\n");
            }
            case Stmt.Allocate(Buffer b, Stmt body) -> {
                sb.append(pad).append("allocate ").append(scopePrefix(b.scope())).append(b.name()).append(": ").append(typeName(b.dtype())).append('[')
                        .append(b.size()).append("]\n");
                stmt(body, depth, sb);
            }
            case Stmt.Barrier(MemoryScope scope) -> sb.append(pad).append("barrier ").append(scopeName(scope)).append('\n');
            case Stmt.Seq(var stmts) -> {
                if (stmts.isEmpty()) sb.append(pad).append("// nothing\n");
                for (Stmt x : stmts) stmt(x, depth, sb);
            }
        }
    }

    private static String kindName(ForKind k) {
        return switch (k) {
            case SERIAL -> "for";
            case PARALLEL -> "parallel";
            case VECTORIZED -> "vectorized";
            case UNROLLED -> "unrolled";
            default -> k.name().toLowerCase(Locale.ROOT);
        };
    }

    /** Nothing for GLOBAL, so every CPU kernel prints as it always has. */
    private static String scopePrefix(MemoryScope scope) {
        return scope == MemoryScope.GLOBAL ? "" : scopeName(scope) + " ";
    }

    private static String scopeName(MemoryScope scope) {
        return scope.name().toLowerCase(Locale.ROOT);
    }

    private static String typeName(ScalarType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    // Precedence: higher binds tighter.
    private static final int OR = 1, AND = 2, CMP = 3, ADD = 4, MUL = 5, UNARY = 6, ATOM = 7;

    private static String expr(Expr e, int outer) {
        return switch (e) {
            case IntImm(Type t, long v) -> t.isBool() ? (v != 0 ? "true" : "false") : v < 0 && outer > ADD ? "(" + v + ")" : Long.toString(v);
            case FloatImm(Type t, double v) -> floatText(t, v, outer);
            case Var v -> v.name();
            case Add(Expr a, IntImm(Type t, long v)) when v < 0 && !t.isBool() -> bin(a, " - ", new IntImm(t, -v), ADD, outer);
            case Add(Expr a, Expr b) -> bin(a, " + ", b, ADD, outer);
            case Sub(Expr a, Expr b) -> bin(a, " - ", b, ADD, outer);
            case Mul(Expr a, Expr b) -> bin(a, "*", b, MUL, outer);
            case Div(Expr a, Expr b) -> bin(a, "/", b, MUL, outer);
            case Mod(Expr a, Expr b) -> bin(a, " % ", b, MUL, outer);
            case Min(Expr a, Expr b) -> "min(" + print(a) + ", " + print(b) + ")";
            case Max(Expr a, Expr b) -> "max(" + print(a) + ", " + print(b) + ")";
            case Cmp c -> bin(c.a(), " " + c.op().symbol + " ", c.b(), CMP, outer);
            case And(Expr a, Expr b) -> bin(a, " && ", b, AND, outer);
            case Or(Expr a, Expr b) -> bin(a, " || ", b, OR, outer);
            case Not(Expr a) -> "!" + expr(a, UNARY);
            case Select(Expr c, Expr t, Expr f) -> "select(" + print(c) + ", " + print(t) + ", " + print(f) + ")";
            case Cast(Type t, Expr v) -> t + "(" + print(v) + ")";
            case Load(Buffer b, Expr index) -> b.name() + "[" + print(index) + "]";
            case Ramp(Expr base, Expr stride, int lanes) -> "ramp(" + print(base) + ", " + print(stride) + ", " + lanes + ")";
            case Broadcast(Expr v, int lanes) -> "x" + lanes + "(" + print(v) + ")";
            case Call c -> c.fn().name().toLowerCase(Locale.ROOT) + "(" + c.args().stream().map(Printer::print).collect(Collectors.joining(", ")) + ")";
            case TensorRead r -> r.tensor().name() + "(" + r.indices().stream().map(Printer::print).collect(Collectors.joining(", ")) + ")";
            case Reduce r -> r.op().name().toLowerCase(Locale.ROOT) + "(" + print(r.source()) + ", over " + r.axes().stream()
                    .map(Var::name).collect(Collectors.joining(", ")) + ")";
        };
    }

    /** Left operand may share the level; the right one is bracketed at equal level, so the tree's shape shows. */
    private static String bin(Expr a, String op, Expr b, int prec, int outer) {
        String s = expr(a, prec) + op + expr(b, prec + 1);
        return prec < outer ? "(" + s + ")" : s;
    }

    private static String floatText(Type t, double v, int outer) {
        String s;
        if (Double.isNaN(v)) s = "nan";
        else if (Double.isInfinite(v)) s = v > 0 ? "inf" : "-inf";
        else if (t.scalar() == ScalarType.F64) s = Double.toString(v);
        else s = Float.toString((float) v) + (t.scalar() == ScalarType.F16 ? "h" : "f");
        return s.startsWith("-") && outer > ADD ? "(" + s + ")" : s;
    }
}
