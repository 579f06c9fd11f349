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

    /** if (i floormod 3 == 0) out = a else out = -a; if (i < 5) flag = 1 (no else). */
    @Test
    void ifThenElse() {
        int n = 40;
        Buffer a = new Buffer("a", ScalarType.F32, n), out = new Buffer("out", ScalarType.F32, n), flag = new Buffer("flag", ScalarType.I32, n);
        Expr.Var i = var("i");
        Stmt body = loop(i, n, ForKind.SERIAL, seq(
                new Stmt.IfThenElse(cmp(dev.kiln.irlow.expr.CmpOp.EQ, mod(i, idx(3)), idx(0)),
                        new Stmt.Store(out, i, new Expr.Load(a, i)),
                        new Stmt.Store(out, i, sub(f32(0), new Expr.Load(a, i)))),
                new Stmt.IfThenElse(lt(i, idx(5)), new Stmt.Store(flag, i, intImm(ScalarType.I32, 1)), null)));
        float[] x = new float[n];
        for (int k = 0; k < n; k++) x[k] = k + 0.5f;
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("branches", List.of(a, out, flag), body)); Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(4L * n, 4), fl = arena.allocate(4L * n, 4);
            jit.call("branches", 1, floats(arena, x), o, fl);
            for (int k = 0; k < n; k++) {
                assertEquals(k % 3 == 0 ? x[k] : -x[k], o.getAtIndex(ValueLayout.JAVA_FLOAT, k), "out " + k);
                assertEquals(k < 5 ? 1 : 0, fl.getAtIndex(ValueLayout.JAVA_INT, k), "flag " + k);
            }
        }
    }

    /** A local buffer on the stack (1 KiB) and one on the heap (160 KiB), each allocated inside a loop. */
    @Test
    void allocateSmallAndLarge() {
        for (int n : new int[] {256, 40_000}) {
            Buffer a = new Buffer("a", ScalarType.F32, n), out = new Buffer("out", ScalarType.F32, 2L * n);
            Buffer tmp = new Buffer("tmp", ScalarType.F32, n);
            Expr.Var r = var("r"), j = var("j"), k = var("k");
            Stmt body = loop(r, 2, ForKind.SERIAL, new Stmt.Allocate(tmp, seq(
                    loop(j, n, ForKind.SERIAL, new Stmt.Store(tmp, j, mul(new Expr.Load(a, j), new Expr.Cast(Type.F32, add(r, idx(1)))))),
                    loop(k, n, ForKind.SERIAL, new Stmt.Store(out, add(mul(r, idx(n)), k),
                            add(new Expr.Load(tmp, sub(idx(n - 1), k)), f32(1)))))));
            float[] x = new float[n];
            for (int q = 0; q < n; q++) x[q] = q * 0.25f;
            try (Jit jit = Jit.compile(TARGET, new PrimFunc("alloc", List.of(a, out), body)); Arena arena = Arena.ofConfined()) {
                MemorySegment o = arena.allocate(8L * n, 4);
                jit.call("alloc", 1, floats(arena, x), o);
                float[] got = floats(o, 2 * n);
                for (int rr = 0; rr < 2; rr++)
                    for (int q = 0; q < n; q++) assertEquals(x[n - 1 - q] * (rr + 1) + 1, got[rr * n + q], 0f, "n=" + n + " at " + q);
            }
            try (LlvmModule m = new LlvmModule("alloc", TARGET)) {
                m.addKernel(new PrimFunc("alloc", List.of(a, out), body));
                String ir = m.printIr();
                assertEquals(n * 4 > KernelCodegen.MAX_STACK_ALLOCATION, ir.contains("@aligned_alloc"), ir);
                assertEquals(n * 4 <= KernelCodegen.MAX_STACK_ALLOCATION, ir.contains("alloca [256 x float], align 64"), ir);
            }
        }
    }

    /** UNROLLED loops: a constant extent of 4 is expanded; 100 keeps a loop with an unroll hint. */
    @Test
    void unrolledLoops() {
        Buffer out = new Buffer("out", ScalarType.I64, 400);
        Expr.Var i = var("i"), u = var("u"), w = var("w");
        Stmt body = seq(
                loop(i, 100, ForKind.SERIAL, loop(u, 4, ForKind.UNROLLED, new Stmt.Store(out, add(mul(i, idx(4)), u), mul(i, u)))),
                loop(w, 100, ForKind.UNROLLED, new Stmt.Store(out, add(mul(w, idx(4)), idx(3)), add(w, idx(1000)))));
        try (LlvmModule m = new LlvmModule("unroll", TARGET)) {
            m.addKernel(new PrimFunc("unroll", List.of(out), body));
            String ir = m.printIr();
            assertFalse(ir.contains("u.header"), "extent 4 must be expanded");
            assertTrue(ir.contains("llvm.loop.unroll.full"), ir);
            assertTrue(ir.contains("llvm.loop.mustprogress"), ir);
        }
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("unroll", List.of(out), body)); Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(8 * 400, 8);
            jit.call("unroll", 1, o);
            for (int q = 0; q < 400; q++) {
                long want = q % 4 == 3 ? q / 4 + 1000 : (long) (q / 4) * (q % 4);
                assertEquals(want, o.getAtIndex(ValueLayout.JAVA_LONG, q), "element " + q);
            }
        }
    }

    /** Stores through a vector index with stride 2 (a scatter) and loads with stride 3 (a gather). */
    @Test
    void scatterAndGather() {
        int lanes = 8;
        Buffer a = new Buffer("a", ScalarType.I32, 3 * 32), out = new Buffer("out", ScalarType.I32, 64);
        Expr.Var io = var("io");
        Expr src = new Expr.Ramp(mul(io, idx(3 * lanes)), idx(3), lanes);
        Expr dst = new Expr.Ramp(add(mul(io, idx(2 * lanes)), idx(1)), idx(2), lanes);
        Stmt body = loop(io, 4, ForKind.SERIAL, new Stmt.Store(out, dst,
                add(new Expr.Load(a, src), new Expr.Broadcast(intImm(ScalarType.I32, 7), lanes))));
        long[] x = new long[96];
        for (int q = 0; q < 96; q++) x[q] = q * q;
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("strided", List.of(a, out), body)); Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(4 * 64, 4);
            jit.call("strided", 1, Mem.longs(arena, ScalarType.I32, x), o);
            for (int q = 0; q < 64; q++) {
                long want = q % 2 == 1 ? x[3 * (q / 2)] + 7 : 0;
                assertEquals(want, o.getAtIndex(ValueLayout.JAVA_INT, q), "element " + q);
            }
        }
    }

    /** One module can be printed, emitted as an object (ELF) and as assembly, in any order. */
    @Test
    void emitsIrObjectAndAssembly() {
        Buffer a = new Buffer("a", ScalarType.F32, 64);
        Expr.Var i = var("i");
        try (LlvmModule m = new LlvmModule("emit", TARGET)) {
            m.addKernel(new PrimFunc("twice", List.of(a), loop(i, 64, ForKind.PARALLEL,
                    new Stmt.Store(a, i, mul(new Expr.Load(a, i), f32(2))))));
            // The thread pool is no parameter: a thread-local of the module, which the executor sets
            // (unset, as here, LLVM folds it to null, running the region inline, when optimizing).
            String unoptimized = m.printIr();
            assertTrue(unoptimized.contains("@kiln.pool = internal thread_local global ptr null"), unoptimized);
            assertTrue(unoptimized.contains("load ptr, ptr @kiln.pool"), unoptimized);
            m.optimize();
            String ir = m.printIr();
            assertTrue(ir.contains("define hidden void @twice(ptr noalias nocapture %a)"), ir);
            assertTrue(ir.contains("\"target-cpu\"=\"" + TARGET.cpu() + "\""), ir);
            byte[] obj = m.emitObject();
            assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, java.util.Arrays.copyOf(obj, 4));
            String asm = m.emitAssembly();
            assertTrue(asm.contains("twice:") && asm.contains(".hidden\ttwice"), asm);
            assertTrue(m.emitObject().length > 0);
        }
    }

    /** A let-bound vector captured by a parallel region (the closure must be aligned for it). */
    @Test
    void parallelRegionCapturesVector() {
        Buffer out = new Buffer("out", ScalarType.F32, 16 * 8);
        Expr.Var i = var("i");
        Expr.Var v = new Expr.Var("v", new Type(ScalarType.F32, 16));
        Stmt body = new Stmt.LetStmt(v, new Expr.Cast(new Type(ScalarType.F32, 16), new Expr.Ramp(idx(0), idx(1), 16)),
                loop(i, 8, ForKind.PARALLEL, new Stmt.Store(out, new Expr.Ramp(mul(i, idx(16)), idx(1), 16),
                        add(v, new Expr.Broadcast(new Expr.Cast(Type.F32, i), 16)))));
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("capvec", List.of(out), body)); Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(4 * 128, 4);
            jit.call("capvec", 3, o);
            float[] got = floats(o, 128);
            for (int k = 0; k < 128; k++) assertEquals(k % 16 + k / 16, got[k], 0f, "element " + k);
        }
    }

    /**
     * Nested vectors as the interpreter defines them: a ramp over a vector base gives lane k =
     * base[k % m] + (k / m) * stride, a broadcast of a vector repeats it.
     */
    @Test
    void rampAndBroadcastOfVectors() {
        Buffer a = new Buffer("a", ScalarType.F32, 64), out = new Buffer("out", ScalarType.F32, 16);
        Expr inner = new Expr.Ramp(idx(0), idx(1), 4);
        Expr index = new Expr.Ramp(inner, new Expr.Broadcast(idx(8), 4), 16);
        Expr value = add(new Expr.Load(a, index), new Expr.Cast(new Type(ScalarType.F32, 16), new Expr.Broadcast(inner, 16)));
        Stmt body = new Stmt.Store(out, new Expr.Ramp(idx(0), idx(1), 16), value);
        float[] x = new float[64];
        for (int k = 0; k < 64; k++) x[k] = k * 10;
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("nestedvec", List.of(a, out), body)); Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(4 * 16, 4);
            jit.call("nestedvec", 1, floats(arena, x), o);
            float[] got = floats(o, 16);
            for (int k = 0; k < 16; k++) assertEquals(x[k % 4 + k / 4 * 8] + k % 4, got[k], 0f, "lane " + k);
        }
    }
}
