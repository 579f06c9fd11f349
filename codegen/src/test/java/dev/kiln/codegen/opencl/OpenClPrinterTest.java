package dev.kiln.codegen.opencl;

import static dev.kiln.irlow.ScalarType.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shape of printed OpenCL C (not whole-file equality), and the IR it refuses with a clear message. */
class OpenClPrinterTest {
    private static Stmt loop(Expr.Var v, long n, ForKind kind, Stmt body) {
        return new Stmt.For(v, idx(0), idx(n), kind, body);
    }

    @Test
    void gpuKernelStructure() {
        String src = OpenClPrinter.program(List.of(OpenClCorrectnessTest.blockReverse(4, 64)));
        assertTrue(src.contains("#pragma OPENCL FP_CONTRACT OFF"), src);
        assertFalse(src.contains("cl_khr_fp64"), "fp64 only when used:\n" + src);
        assertTrue(src.contains("__kernel __attribute__((reqd_work_group_size(64, 1, 1))) void block_reverse("
                + "__global const float* restrict A, __global float* restrict B) {"), src);
        int local = src.indexOf("    __local float tile[64];"), group = src.indexOf("    const long bx = get_group_id(0);");
        assertTrue(local > 0 && group > local, "__local at kernel scope, before the ids:\n" + src);
        assertTrue(src.contains("    const long tx_load = get_local_id(0);\n    tile[tx_load] = A[bx * 64 + tx_load];\n"
                + "    barrier(CLK_LOCAL_MEM_FENCE);\n"), src);
        assertTrue(src.contains("    float r[1];"), src);
        assertFalse(src.contains("if ("), "no guard where a loop covers its axis:\n" + src);
        for (String line : src.split("\n")) {
            int spaces = line.length() - line.stripLeading().length();
            assertEquals(0, spaces % 4, "4-space indentation: '" + line + "'");
            assertFalse(line.startsWith("\t"), line);
        }
    }

    @Test
    void serialLoopsUnrollingAndNames() {
        Buffer in = new Buffer("x.in", F32, 64), out = new Buffer("float", F64, 64);
        Expr.Var i = var("i.outer"), j = var("int");
        Stmt body = loop(i, 16, ForKind.PARALLEL, loop(j, 4, ForKind.UNROLLED,
                new Stmt.Store(out, add(mul(i, idx(4)), j), cast(F64, new Expr.Load(in, add(mul(i, idx(4)), j))))));
        String src = OpenClPrinter.program(List.of(new PrimFunc("conv2d.relu-1", List.of(in, out), body)));
        assertTrue(src.contains("#pragma OPENCL EXTENSION cl_khr_fp64 : enable"), src);
        assertTrue(src.contains("__kernel void conv2d_relu_1(__global const float* restrict x_in, __global double* restrict float_1) {"), src);
        assertTrue(src.contains("    for (long i_outer = 0; i_outer < 16; ++i_outer) {\n        #pragma unroll\n"
                + "        for (long int_1 = 0; int_1 < 4; ++int_1) {\n"), src);
        assertFalse(src.contains("get_group_id"), src);
    }

    @Test
    void kernelNamesAreUniqueInAProgram() {
        Buffer a = new Buffer("a", F32, 1);
        Stmt s = new Stmt.Store(a, idx(0), f32(1));
        String src = OpenClPrinter.program(List.of(new PrimFunc("k.a", List.of(a), s), new PrimFunc("k_a", List.of(a), s)));
        assertTrue(src.contains("void k_a(") && src.contains("void k_a_1("), src);
        assertEquals(OpenClPrinter.kernel(new PrimFunc("k.a", List.of(a), s)).strip(),
                src.substring(src.indexOf("// k.a:"), src.indexOf("// k_a:")).strip());
    }

    private static String refusal(PrimFunc f) {
        return assertThrows(OpenClException.class, () -> OpenClPrinter.program(List.of(f))).getMessage();
    }

    /** f16 is a storage format: scalar loads and stores through vload_half/vstore_half (no cl_khr_fp16), results rounded. */
    @Test
    void halfPrecisionIsStoredAsHalfAndComputedInFloat() {
        Buffer h = new Buffer("H", F16, 4);
        Expr x = new Expr.Load(h, idx(1));
        String src = OpenClPrinter.program(List.of(new PrimFunc("half_kernel", List.of(h),
                new Stmt.Store(h, idx(0), new Expr.Add(x, x)))));
        assertTrue(src.contains("__global half* restrict H") && src.contains("vload_half(1, H)") && src.contains("vstore_half(")
                && src.contains("kiln_round_half(") && !src.contains("#pragma OPENCL EXTENSION cl_khr_fp16"), src);
        Expr v = new Expr.Load(h, new Expr.Ramp(idx(0), idx(1), 4));
        String msg = refusal(new PrimFunc("half_vector", List.of(h), new Stmt.Store(h, new Expr.Ramp(idx(0), idx(1), 4), v)));
        assertTrue(msg.contains("half_vector") && msg.contains("cl_khr_fp16"), msg);
    }

    @Test
    void refusesVectorWidthsOpenClLacks() {
        Buffer a = new Buffer("A", F32, 10);
        Expr five = new Expr.Ramp(idx(0), idx(1), 5);
        String msg = refusal(new PrimFunc("five", List.of(a), new Stmt.Store(a, five, new Expr.Load(a, five))));
        assertTrue(msg.contains("five") && msg.contains("5-lane"), msg);
    }

    @Test
    void refusesLargeGlobalAllocationsInsideAKernel() {
        Buffer a = new Buffer("A", F32, 1), big = new Buffer("scratch", F32, 1 << 20, MemoryScope.GLOBAL);
        Stmt body = new Stmt.Allocate(big, new Stmt.Seq(List.of(new Stmt.Store(big, idx(0), f32(1)),
                new Stmt.Store(a, idx(0), new Expr.Load(big, idx(0))))));
        String msg = refusal(new PrimFunc("big_alloc", List.of(a), body));
        assertTrue(msg.contains("big_alloc") && msg.contains("scratch") && msg.contains("workspace"), msg);
    }

    @Test
    void refusesUnloweredReductions() {
        Buffer a = new Buffer("A", F32, 1);
        Expr r = new Expr.Reduce(Expr.ReduceOp.SUM, f32(1), List.of(var("k")), List.of(4L));
        String msg = refusal(new PrimFunc("unlowered", List.of(a), new Stmt.Store(a, idx(0), r)));
        assertTrue(msg.contains("unlowered") && msg.contains("lower"), msg);
    }

    @Test
    void refusesUnboundVariables() {
        Buffer a = new Buffer("A", F32, 4);
        String msg = refusal(new PrimFunc("unbound", List.of(a), new Stmt.Store(a, var("i"), f32(1))));
        assertTrue(msg.contains("variable i"), msg);
    }
}
