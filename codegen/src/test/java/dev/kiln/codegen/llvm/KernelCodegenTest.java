package dev.kiln.codegen.llvm;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.Target;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Correctness of generated kernels: run through the JIT, compared with the same computation in Java. */
class KernelCodegenTest {
    static final Target TARGET = Target.host();

    static Stmt.For loop(Expr.Var v, long extent, ForKind kind, Stmt body) {
        return new Stmt.For(v, idx(0), idx(extent), kind, body);
    }

    static Stmt seq(Stmt... s) {
        return new Stmt.Seq(List.of(s));
    }

    static MemorySegment floats(Arena a, float[] v) {
        MemorySegment s = a.allocate(4L * v.length, 4);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT, 0, v.length);
        return s;
    }

    static float[] floats(MemorySegment s, int n) {
        float[] r = new float[n];
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, r, 0, n);
        return r;
    }

    /** c = a + b: 16-lane vector body, scalar tail. */
    @Test
    void vectorAdd() {
        int n = 1003;
        Buffer a = new Buffer("a", ScalarType.F32, n), b = new Buffer("b", ScalarType.F32, n), c = new Buffer("c", ScalarType.F32, n);
        Expr.Var io = var("io"), t = var("t");
        Expr vi = new Expr.Ramp(mul(io, idx(16)), idx(1), 16);
        Stmt body = seq(
                loop(io, n / 16, ForKind.SERIAL, new Stmt.Store(c, vi, add(new Expr.Load(a, vi), new Expr.Load(b, vi)))),
                new Stmt.For(t, idx(n / 16 * 16), idx(n % 16), ForKind.SERIAL,
                        new Stmt.Store(c, t, add(new Expr.Load(a, t), new Expr.Load(b, t)))));
        Random r = new Random(1);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) { x[i] = r.nextFloat() * 10 - 5; y[i] = r.nextFloat(); }
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("vadd", List.of(a, b, c), body)); Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(4L * n, 4);
            jit.call("vadd", 1, floats(arena, x), floats(arena, y), out);
            float[] got = floats(out, n);
            for (int i = 0; i < n; i++) assertEquals(x[i] + y[i], got[i], 0f, "element " + i);
        }
    }
}
