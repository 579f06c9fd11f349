package dev.kiln.codegen.llvm;

import static dev.kiln.codegen.llvm.KernelCodegenTest.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.Target;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * C[M,N] = A[M,K] B[K,N] with rows spread over threads (PARALLEL) and columns in vectors, run
 * on 1..3 threads against a Java matmul; the assembly must use FMA on full-width registers.
 */
class ParallelMatmulTest {
    static final int M = 37, N = 64, K = 29;

    /** Explicit vectors: C[i, jo*L:(jo+1)*L] accumulates Broadcast(A[i,k]) * B[k, jo*L:...]. */
    static PrimFunc explicitVectors(String name, int lanes) {
        Buffer a = new Buffer("A", ScalarType.F32, M * K), b = new Buffer("B", ScalarType.F32, K * N),
                c = new Buffer("C", ScalarType.F32, M * N);
        Expr.Var i = var("i"), jo = var("jo"), k = var("k");
        Expr cIdx = new Expr.Ramp(add(mul(i, idx(N)), mul(jo, idx(lanes))), idx(1), lanes);
        Expr bIdx = new Expr.Ramp(add(mul(k, idx(N)), mul(jo, idx(lanes))), idx(1), lanes);
        Expr aElem = new Expr.Load(a, new Expr.Broadcast(add(mul(i, idx(K)), k), lanes));
        Stmt body = loop(i, M, ForKind.PARALLEL, loop(jo, N / lanes, ForKind.SERIAL, seq(
                new Stmt.Store(c, cIdx, new Expr.Broadcast(f32(0), lanes)),
                loop(k, K, ForKind.SERIAL, new Stmt.Store(c, cIdx,
                        add(new Expr.Load(c, cIdx), mul(aElem, new Expr.Load(b, bIdx))))))));
        return new PrimFunc(name, List.of(a, b, c), body);
    }

    /** Scalar body under a VECTORIZED loop, left for LLVM's loop vectorizer. */
    static PrimFunc vectorizedLoop(String name) {
        Buffer a = new Buffer("A", ScalarType.F32, M * K), b = new Buffer("B", ScalarType.F32, K * N),
                c = new Buffer("C", ScalarType.F32, M * N);
        Expr.Var i = var("i"), j = var("j"), k = var("k"), j2 = var("j2");
        Expr cIdx = add(mul(i, idx(N)), j);
        Stmt body = loop(i, M, ForKind.PARALLEL, seq(
                loop(j2, N, ForKind.VECTORIZED, new Stmt.Store(c, add(mul(i, idx(N)), j2), f32(0))),
                loop(k, K, ForKind.SERIAL, loop(j, N, ForKind.VECTORIZED, new Stmt.Store(c, cIdx,
                        add(new Expr.Load(c, cIdx), mul(new Expr.Load(a, add(mul(i, idx(K)), k)),
                                new Expr.Load(b, add(mul(k, idx(N)), j)))))))));
        return new PrimFunc(name, List.of(a, b, c), body);
    }

    static float[] reference(float[] a, float[] b) {
        float[] c = new float[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float s = 0;
                for (int k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
                c[i * N + j] = s;
            }
        return c;
    }

    @Test
    void matchesJavaOnAnyThreadCount() {
        Random r = new Random(7);
        float[] a = new float[M * K], b = new float[K * N];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 2 - 1;
        float[] want = reference(a, b);
        try (Jit jit = Jit.compile(TARGET, explicitVectors("mm16", 16), explicitVectors("mm8", 8), vectorizedLoop("mmv"));
             Arena arena = Arena.ofConfined()) {
            for (String kernel : List.of("mm16", "mm8", "mmv")) {
                for (int threads : new int[] {1, 2, 3, 64}) {
                    MemorySegment c = arena.allocate(4L * M * N, 4);
                    c.fill((byte) 0x7f);
                    jit.call(kernel, threads, floats(arena, a), floats(arena, b), c);
                    float[] got = floats(c, M * N);
                    for (int e = 0; e < want.length; e++) {
                        assertEquals(want[e], got[e], 1e-4f, kernel + " on " + threads + " threads, element " + e);
                    }
                }
            }
        }
    }

    @Test
    void avx512AssemblyUsesZmmFma() {
        String asm = assembly(Target.avx512(), explicitVectors("mm", 16), vectorizedLoop("mmv"));
        assertTrue(asm.matches("(?s).*vfmadd\\w*ps\\s+[^\\n]*zmm.*"), "no zmm FMA in:\n" + asm);
        assertTrue(asm.contains("kiln.pool.run"), "a parallel loop must run on the thread pool");
    }

    @Test
    void avx2AssemblyUsesYmmFma() {
        String asm = assembly(Target.avx2(), explicitVectors("mm", 8));
        assertTrue(asm.matches("(?s).*vfmadd\\w*ps\\s+[^\\n]*ymm.*"), "no ymm FMA in:\n" + asm);
        assertFalse(asm.contains("zmm"), "AVX2 code must not use zmm registers");
    }

    static String assembly(Target t, PrimFunc... fs) {
        try (LlvmModule m = new LlvmModule("asm", t)) {
            for (PrimFunc f : fs) m.addKernel(f);
            Jit.addSetThreads(m);
            m.optimize();
            return m.emitAssembly();
        }
    }
}
