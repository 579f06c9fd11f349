package dev.kiln.codegen.llvm;

import static dev.kiln.codegen.llvm.KernelCodegenTest.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Te;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Loop IR the CPU backend cannot compile gets a message naming the kernel and the problem. */
class CodegenErrorTest {
    static final Buffer OUT = new Buffer("out", ScalarType.F32, 16);

    static String error(Stmt body) {
        try (LlvmModule m = new LlvmModule("errors", TARGET)) {
            return assertThrows(CodegenException.class, () -> m.addKernel(new PrimFunc("k", List.of(OUT), body))).getMessage();
        }
    }

    @Test
    void gpuLoopOnCpu() {
        String msg = error(loop(var("tx"), 16, ForKind.GPU_THREAD_X, new Stmt.Store(OUT, var("tx"), f32(1))));
        assertTrue(msg.contains("kernel 'k'") && msg.contains("'tx'") && msg.contains("GPU_THREAD_X") && msg.contains(TARGET.name()), msg);
    }

    @Test
    void barrierOnCpu() {
        String msg = error(seq(new Stmt.Store(OUT, idx(0), f32(1)), new Stmt.Barrier(MemoryScope.SHARED)));
        assertTrue(msg.contains("kernel 'k'") && msg.contains("SHARED barrier") && msg.contains(TARGET.name())
                && msg.contains("need a GPU target"), msg);
    }

    @Test
    void sharedAndRegisterAllocationsOnCpu() {
        for (MemoryScope scope : List.of(MemoryScope.SHARED, MemoryScope.REGISTER)) {
            Buffer tile = new Buffer("tile", ScalarType.F32, 16, scope);
            String msg = error(new Stmt.Allocate(tile, new Stmt.Store(OUT, idx(0), new Expr.Load(tile, idx(0)))));
            assertTrue(msg.contains("kernel 'k'") && msg.contains("'tile'") && msg.contains(scope + " memory")
                    && msg.contains("need a GPU target"), msg);
        }
    }

    @Test
    void unloweredTensorRead() {
        var p = Te.placeholder("P", ScalarType.F32, 16);
        String msg = error(new Stmt.Store(OUT, idx(0), Te.read(p, idx(0))));
        assertTrue(msg.contains("'P'") && msg.contains("not lowered"), msg);
    }

    @Test
    void mismatchedOperandTypes() {
        String msg = error(new Stmt.Store(OUT, add(idx(0), intImm(ScalarType.I32, 1)), f32(1)));
        assertTrue(msg.contains("i64 and i32") && msg.contains("Cast"), msg);
    }

    @Test
    void storedValueOfWrongType() {
        String msg = error(new Stmt.Store(OUT, idx(0), intImm(ScalarType.I32, 1)));
        assertTrue(msg.contains("'out'") && msg.contains("i32"), msg);
    }

    @Test
    void unboundVariableAndBuffer() {
        assertTrue(error(new Stmt.Store(OUT, var("nowhere"), f32(1))).contains("'nowhere'"));
        Buffer other = new Buffer("other", ScalarType.F32, 4);
        assertTrue(error(new Stmt.Store(OUT, idx(0), new Expr.Load(other, idx(0)))).contains("'other'"));
    }

    @Test
    void kernelDefinedTwice() {
        try (LlvmModule m = new LlvmModule("twice", TARGET)) {
            PrimFunc f = new PrimFunc("k", List.of(OUT), new Stmt.Store(OUT, idx(0), f32(1)));
            m.addKernel(f);
            assertTrue(assertThrows(CodegenException.class, () -> m.addKernel(f)).getMessage().contains("twice"));
        }
    }
}
