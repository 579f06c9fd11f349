package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import org.bytedeco.llvm.LLVM.LLVMModuleRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * How many threads a kernel's parallel loops may use: the module's thread-local {@code i32
 * @kiln.num_threads}, not a kernel parameter. The executor owns the parallel runtime: its run
 * function stores the handle's count here before calling the kernels, and each parallel region
 * loads it. Thread-local, so two handles with different counts can run at once on two threads;
 * internal to the module, so the library exports nothing beyond its C ABI; 1 until set, so a
 * kernel called on its own runs serially.
 */
public final class ThreadCount {
    public static final String GLOBAL = "kiln.num_threads";

    private ThreadCount() {}

    /** The global in {@code module}, defined there if it is not yet. */
    public static LLVMValueRef global(LLVMModuleRef module) {
        LLVMValueRef g = LLVMGetNamedGlobal(module, GLOBAL);
        if (!Ir.isNull(g)) return g;
        LLVMTypeRef i32 = LLVMInt32TypeInContext(LLVMGetModuleContext(module));
        g = LLVMAddGlobal(module, i32, GLOBAL);
        LLVMSetLinkage(g, LLVMInternalLinkage);
        // General/local-dynamic TLS (not initial-exec), so any number of models can be dlopen'ed into one process.
        LLVMSetThreadLocal(g, 1);
        LLVMSetInitializer(g, LLVMConstInt(i32, 1, 0));
        LLVMSetAlignment(g, 4);
        return g;
    }
}
