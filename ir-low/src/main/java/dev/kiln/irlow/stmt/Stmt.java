package dev.kiln.irlow.stmt;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.expr.Expr;
import java.util.List;
import java.util.Objects;

/** Loop-IR statements: immutable records that compare structurally. */
public sealed interface Stmt {
    /** for (var = min; var < min + extent; var++) body. The var's name is the loop's name. */
    record For(Expr.Var var, Expr min, Expr extent, ForKind kind, Stmt body) implements Stmt {}

    /** buffer[index] = value; a vector index stores a vector. */
    record Store(Buffer buffer, Expr index, Expr value) implements Stmt {}

    record LetStmt(Expr.Var var, Expr value, Stmt body) implements Stmt {}

    /** if (cond) then else otherwise; otherwise may be null. */
    record IfThenElse(Expr cond, Stmt then, Stmt otherwise) implements Stmt {}

    /**
     * A local buffer live during body: on a CPU the stack for small sizes, the heap otherwise; on
     * a GPU its scope says whether it is per block (SHARED) or per thread (REGISTER).
     */
    record Allocate(Buffer buffer, Stmt body) implements Stmt {}

    /**
     * Every thread of a block waits here until all have arrived, and writes to {@code scope}
     * memory before it are visible to reads after it: SHARED is CUDA {@code __syncthreads()} /
     * OpenCL {@code barrier(CLK_LOCAL_MEM_FENCE)}, GLOBAL also orders device memory
     * ({@code CLK_GLOBAL_MEM_FENCE}). It belongs between the thread loops of one block.
     */
    record Barrier(MemoryScope scope) implements Stmt {
        public Barrier {
            Objects.requireNonNull(scope, "scope");
            if (scope == MemoryScope.REGISTER)
                throw new IllegalArgumentException("a barrier orders SHARED or GLOBAL memory; REGISTER memory is private to one thread");
        }
    }

    record Seq(List<Stmt> stmts) implements Stmt {
        public Seq {
            stmts = List.copyOf(stmts);
        }
    }
}
