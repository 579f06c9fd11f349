package dev.kiln.irlow.transform;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.Stmt;
import java.util.HashMap;
import java.util.Map;

/**
 * Replaces variables (by name) with expressions. A {@code For} or {@code LetStmt} that rebinds a
 * replaced name hides it in its body, as scoping requires.
 */
public final class Substitute {
    private Substitute() {}

    public static Expr expr(Expr e, Map<String, ? extends Expr> replacements) {
        if (replacements.isEmpty()) return e;
        if (e instanceof Expr.Var v) {
            Expr r = replacements.get(v.name());
            return r == null ? v : r;
        }
        return Children.map(e, c -> expr(c, replacements));
    }

    public static Expr expr(Expr e, String name, Expr value) {
        return expr(e, Map.of(name, value));
    }

    public static Stmt stmt(Stmt s, Map<String, ? extends Expr> replacements) {
        if (replacements.isEmpty()) return s;
        return switch (s) {
            case Stmt.For f when replacements.containsKey(f.var().name()) -> {
                Stmt.For outer = (Stmt.For) Children.map(f, x -> x, e -> expr(e, replacements));
                yield new Stmt.For(f.var(), outer.min(), outer.extent(), f.kind(), stmt(f.body(), without(replacements, f.var().name())));
            }
            case Stmt.LetStmt l when replacements.containsKey(l.var().name()) ->
                    new Stmt.LetStmt(l.var(), expr(l.value(), replacements), stmt(l.body(), without(replacements, l.var().name())));
            default -> Children.map(s, x -> stmt(x, replacements), e -> expr(e, replacements));
        };
    }

    public static Stmt stmt(Stmt s, String name, Expr value) {
        return stmt(s, Map.of(name, value));
    }

    private static Map<String, Expr> without(Map<String, ? extends Expr> m, String name) {
        Map<String, Expr> r = new HashMap<>(m);
        r.remove(name);
        return r;
    }
}
