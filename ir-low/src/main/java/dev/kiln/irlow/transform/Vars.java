package dev.kiln.irlow.transform;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.Stmt;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Queries about the variables and loops of IR. */
public final class Vars {
    private Vars() {}

    /** The names of the variables {@code e} reads. */
    public static Set<String> of(Expr e) {
        Set<String> out = new LinkedHashSet<>();
        collect(e, out);
        return out;
    }

    /** Whether {@code e} reads the variable {@code name}. */
    public static boolean uses(Expr e, String name) {
        return of(e).contains(name);
    }

    /** Whether {@code e} reads any of {@code names}. */
    public static boolean usesAny(Expr e, Set<String> names) {
        for (String n : of(e)) if (names.contains(n)) return true;
        return false;
    }

    private static void collect(Expr e, Set<String> out) {
        if (e instanceof Expr.Var v) out.add(v.name());
        else Children.forEach(e, c -> collect(c, out));
    }

    /** The loops of {@code s} in preorder. */
    public static List<Stmt.For> loops(Stmt s) {
        List<Stmt.For> out = new ArrayList<>();
        collectLoops(s, out);
        return out;
    }

    private static void collectLoops(Stmt s, List<Stmt.For> out) {
        if (s instanceof Stmt.For f) out.add(f);
        Children.forEach(s, c -> collectLoops(c, out), e -> {});
    }

    /** Whether any statement in {@code s} (including itself) satisfies {@code p}. */
    public static boolean anyStmt(Stmt s, java.util.function.Predicate<Stmt> p) {
        if (p.test(s)) return true;
        boolean[] found = {false};
        Children.forEach(s, c -> found[0] |= anyStmt(c, p), e -> {});
        return found[0];
    }

    /** Whether any expression in {@code s} reads the variable {@code name}. */
    public static boolean usedIn(Stmt s, String name) {
        boolean[] found = {false};
        Children.forEach(s, c -> found[0] |= usedIn(c, name), e -> found[0] |= uses(e, name));
        return found[0];
    }
}
