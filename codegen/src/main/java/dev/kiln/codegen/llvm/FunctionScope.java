package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.expr.Expr;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.llvm.LLVM.LLVMBasicBlockRef;
import org.bytedeco.llvm.LLVM.LLVMBuilderRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * The state of one LLVM function being generated: its builder, what each loop-IR variable and
 * buffer is bound to, and an entry block that collects the stack allocations (so allocas inside
 * loops do not grow the stack on every iteration).
 */
final class FunctionScope {
    final LlvmModule m;
    final Ir ir;
    final LLVMValueRef fn;
    /** The kernel this function belongs to (for names and error messages). */
    final String kernel;
    /** Inside an outlined parallel region: parallel loops run serially here. */
    final boolean inParallel;
    /** Whether PARALLEL loops run on the thread pool (a CPU kernel); false on a GPU and inside outlined regions. */
    boolean parallel;
    /** A GPU kernel: bound loops read thread and block indices, SHARED buffers live in shared memory. */
    boolean gpu;

    private final LLVMBasicBlockRef entry;
    private final LLVMBuilderRef allocaBuilder;
    private final Map<String, LLVMValueRef> vars = new HashMap<>();
    private final Map<String, LLVMValueRef> buffers = new HashMap<>();

    FunctionScope(LlvmModule m, LLVMValueRef fn, String kernel, boolean inParallel) {
        this.m = m;
        this.fn = fn;
        this.kernel = kernel;
        this.inParallel = inParallel;
        this.ir = new Ir(m, LLVMCreateBuilderInContext(m.context()));
        this.entry = LLVMAppendBasicBlockInContext(m.context(), fn, "entry");
        this.allocaBuilder = LLVMCreateBuilderInContext(m.context());
        LLVMPositionBuilderAtEnd(allocaBuilder, entry);
        LLVMPositionBuilderAtEnd(ir.b, block("body"));
    }

    LLVMBasicBlockRef block(String name) {
        return LLVMAppendBasicBlockInContext(m.context(), fn, name);
    }

    /** A stack slot in the entry block. */
    LLVMValueRef alloca(LLVMTypeRef type, int align, String name) {
        LLVMValueRef a = LLVMBuildAlloca(allocaBuilder, type, name);
        LLVMSetAlignment(a, align);
        return a;
    }

    /** Ends the function: returns from where generation stopped and links entry to the body. */
    void finish() {
        LLVMBuildRetVoid(ir.b);
        LLVMBuildBr(allocaBuilder, LLVMGetNextBasicBlock(entry));
        LLVMDisposeBuilder(allocaBuilder);
        LLVMDisposeBuilder(ir.b);
    }

    LLVMValueRef var(Expr.Var v) {
        LLVMValueRef r = vars.get(v.name());
        if (r == null) {
            throw new CodegenException("kernel '" + kernel + "': variable '" + v.name() + "' is used outside the loop or "
                    + "let that defines it");
        }
        return r;
    }

    /** Binds a variable; returns the previous binding (or null) for {@link #restoreVar}. */
    LLVMValueRef bindVar(String name, LLVMValueRef value) {
        return vars.put(name, value);
    }

    void restoreVar(String name, LLVMValueRef previous) {
        if (previous == null) vars.remove(name);
        else vars.put(name, previous);
    }

    LLVMValueRef buffer(Buffer b) {
        LLVMValueRef r = buffers.get(b.name());
        if (r == null) {
            throw new CodegenException("kernel '" + kernel + "': buffer '" + b.name() + "' is neither a parameter nor "
                    + "allocated around its use");
        }
        return r;
    }

    LLVMValueRef bindBuffer(String name, LLVMValueRef ptr) {
        return buffers.put(name, ptr);
    }

    void restoreBuffer(String name, LLVMValueRef previous) {
        if (previous == null) buffers.remove(name);
        else buffers.put(name, previous);
    }
}
