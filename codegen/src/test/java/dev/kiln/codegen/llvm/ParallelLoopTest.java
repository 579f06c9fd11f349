package dev.kiln.codegen.llvm;

import static dev.kiln.codegen.llvm.KernelCodegenTest.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PARALLEL loops: what the outlined region captures, nesting, run-time extents, thread counts. */
class ParallelLoopTest {
    /** A parallel loop inside a parallel loop runs serially inside the outer region. */
    @Test
    void nestedParallelRunsInnerSerially() {
        Buffer out = new Buffer("out", ScalarType.I64, 7 * 13);
        Expr.Var i = var("i"), j = var("j");
        PrimFunc f = new PrimFunc("nested", List.of(out), loop(i, 7, ForKind.PARALLEL, loop(j, 13, ForKind.PARALLEL,
                new Stmt.Store(out, add(mul(i, idx(13)), j), add(mul(i, idx(100)), j)))));
        try (LlvmModule m = new LlvmModule("nested", TARGET)) {
            m.addKernel(f);
            String ir = m.printIr();
            assertEquals(1, ir.split("call void @kiln.pool.run").length - 1, ir);
            assertTrue(ir.contains("define internal void @nested.par0(ptr"), ir);
        }
        try (Jit jit = Jit.compile(TARGET, f); Arena arena = Arena.ofConfined()) {
            for (int threads : new int[] {1, 2, 5}) {
                MemorySegment o = arena.allocate(8 * 7 * 13, 8);
                jit.call("nested", threads, o);
                for (int k = 0; k < 7 * 13; k++) assertEquals(k / 13 * 100 + k % 13, o.getAtIndex(ValueLayout.JAVA_LONG, k));
            }
        }
    }

    /**
     * The region captures an outer loop variable, a let-bound float, a buffer allocated outside
     * it, and runs over an extent read from memory (including 0 and 1); it allocates its own
     * scratch buffer per thread.
     */
    @Test
    void capturesVariablesBuffersAndRunTimeExtent() {
        int cap = 100;
        Buffer a = new Buffer("a", ScalarType.F32, cap), count = new Buffer("count", ScalarType.I32, 1);
        Buffer out = new Buffer("out", ScalarType.F32, 3 * cap);
        Buffer table = new Buffer("table", ScalarType.F32, 64), scratch = new Buffer("scratch", ScalarType.F32, 4);
        Expr.Var r = var("r"), k = var("k"), i = var("i"), n = var("n");
        Expr.Var s = new Expr.Var("s", Type.F32);
        Stmt region = new Stmt.For(i, idx(0), n, ForKind.PARALLEL, new Stmt.Allocate(scratch, seq(
                new Stmt.Store(scratch, idx(1), new Expr.Load(a, i)),
                new Stmt.Store(out, add(mul(r, idx(cap)), i),
                        add(add(new Expr.Load(table, mod(i, idx(64))), s), new Expr.Load(scratch, idx(1)))))));
        Stmt body = new Stmt.LetStmt(n, cast(ScalarType.I64, new Expr.Load(count, idx(0))),
                new Stmt.Allocate(table, seq(
                        loop(k, 64, ForKind.SERIAL, new Stmt.Store(table, k, mul(cast(ScalarType.F32, k), f32(2)))),
                        loop(r, 3, ForKind.SERIAL, new Stmt.LetStmt(s, mul(cast(ScalarType.F32, r), f32(0.5)), region)))));
        float[] x = new float[cap];
        for (int q = 0; q < cap; q++) x[q] = q * 0.125f;
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("captures", List.of(a, count, out), body)); Arena arena = Arena.ofConfined()) {
            for (int extent : new int[] {cap, 0, 1, 37}) {
                for (int threads : new int[] {1, 2, 3, 64}) {
                    MemorySegment o = arena.allocate(4L * 3 * cap, 4);
                    o.fill((byte) 0);
                    MemorySegment c = arena.allocate(4, 4);
                    c.set(ValueLayout.JAVA_INT, 0, extent);
                    jit.call("captures", threads, floats(arena, x), c, o);
                    float[] got = floats(o, 3 * cap);
                    for (int rr = 0; rr < 3; rr++)
                        for (int q = 0; q < cap; q++) {
                            float want = q < extent ? (q % 64) * 2f + rr * 0.5f + x[q] : 0;
                            assertEquals(want, got[rr * cap + q], 0f, "extent " + extent + ", " + threads + " threads, r=" + rr + ", i=" + q);
                        }
                }
            }
        }
    }
}
