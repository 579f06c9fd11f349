package dev.kiln.codegen.llvm;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.stmt.Stmt;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The variables and buffers a statement uses but does not define: what an outlined parallel
 * region must receive from the function around it. In first-use order, so the generated code is
 * deterministic.
 */
record FreeVars(Map<String, Expr.Var> vars, Map<String, Buffer> buffers) {
    static FreeVars of(Stmt s) {
        FreeVars fv = new FreeVars(new LinkedHashMap<>(), new LinkedHashMap<>());
        fv.stmt(s, new Bound(Set.of(), Set.of()));
        return fv;
    }

    /** The variables and buffers defined around the current point of the walk. */
    private record Bound(Set<String> vars, Set<String> buffers) {
        Bound withVar(String v) {
            Set<String> s = new HashSet<>(vars);
            s.add(v);
            return new Bound(s, buffers);
        }

        Bound withBuffer(String b) {
            Set<String> s = new HashSet<>(buffers);
            s.add(b);
            return new Bound(vars, s);
        }
    }

    private void stmt(Stmt s, Bound bound) {
        switch (s) {
            case Stmt.For f -> {
                expr(f.min(), bound);
                expr(f.extent(), bound);
                stmt(f.body(), bound.withVar(f.var().name()));
            }
            case Stmt.Store st -> {
                buffer(st.buffer(), bound);
                expr(st.index(), bound);
                expr(st.value(), bound);
            }
            case Stmt.LetStmt l -> {
                expr(l.value(), bound);
                stmt(l.body(), bound.withVar(l.var().name()));
            }
            case Stmt.IfThenElse i -> {
                expr(i.cond(), bound);
                stmt(i.then(), bound);
                if (i.otherwise() != null) stmt(i.otherwise(), bound);
            }
            case Stmt.Allocate a -> stmt(a.body(), bound.withBuffer(a.buffer().name()));
            case Stmt.Barrier b -> {}
            case Stmt.Seq q -> {
                for (Stmt c : q.stmts()) stmt(c, bound);
            }
        }
    }

    private void buffer(Buffer b, Bound bound) {
        if (!bound.buffers().contains(b.name())) buffers.putIfAbsent(b.name(), b);
    }

    private void expr(Expr e, Bound bound) {
        switch (e) {
            case Expr.Var v -> {
                if (!bound.vars().contains(v.name())) vars.putIfAbsent(v.name(), v);
            }
            case Expr.Load l -> {
                buffer(l.buffer(), bound);
                expr(l.index(), bound);
            }
            default -> Children.forEach(e, c -> expr(c, bound));
        }
    }
}
