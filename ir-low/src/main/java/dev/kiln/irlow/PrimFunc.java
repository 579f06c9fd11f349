package dev.kiln.irlow;

import dev.kiln.irlow.stmt.Stmt;
import java.util.List;

/**
 * A kernel: a loop-IR body over buffer parameters. By convention inputs come first, then
 * outputs. The native signature is {@code void name(T0* p0, T1* p1, ...)}; how many threads
 * its parallel loops use is up to the executor that calls it.
 */
public record PrimFunc(String name, List<Buffer> params, Stmt body) {
    public PrimFunc {
        params = List.copyOf(params);
    }

    public PrimFunc withBody(Stmt newBody) {
        return new PrimFunc(name, params, newBody);
    }
}
