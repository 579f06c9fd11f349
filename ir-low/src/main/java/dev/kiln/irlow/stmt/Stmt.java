package dev.kiln.irlow.stmt;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.expr.Expr;
import java.util.List;

/** Loop-IR statements: immutable records that compare structurally. */
public sealed interface Stmt {
    /** for (var = min; var < min + extent; var++) body. The var's name is the loop's name. */
    record For(Expr.Var var, Expr min, Expr extent, ForKind kind, Stmt body) implements Stmt {}

    /** buffer[index] = value; a vector index stores a vector. */
    record Store(Buffer buffer, Expr index, Expr value) implements Stmt {}

    record LetStmt(Expr.Var var, Expr value, Stmt body) implements Stmt {}

    /** if (cond) then else otherwise; otherwise may be null. */
    record IfThenElse(Expr cond, Stmt then, Stmt otherwise) implements Stmt {}

    /** A local buffer (stack for small sizes, heap otherwise) live during body. */
    record Allocate(Buffer buffer, Stmt body) implements Stmt {}

    record Seq(List<Stmt> stmts) implements Stmt {
        public Seq {
            stmts = List.copyOf(stmts);
        }
    }
}
