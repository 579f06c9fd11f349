package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.llvm.LLVM.LLVMBuilderRef;
import org.bytedeco.llvm.LLVM.LLVMErrorRef;
import org.bytedeco.llvm.LLVM.LLVMMemoryBufferRef;
import org.bytedeco.llvm.LLVM.LLVMOrcDefinitionGeneratorRef;
import org.bytedeco.llvm.LLVM.LLVMOrcJITDylibRef;
import org.bytedeco.llvm.LLVM.LLVMOrcLLJITRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Loads an object file emitted by {@link LlvmModule} into this process with LLVM's ORC LLJIT
 * (no linker needed) and calls its kernels through the FFM API. Symbols the object needs from
 * outside (libm, libc's pthreads) are resolved in the process. The executor is not there to
 * give the kernels a thread pool, so {@link #compile} adds a function that does; and as ORC
 * without a platform runtime cannot link thread-local storage (R_X86_64_TLSLD), the pool is a
 * plain global here: call kernels of one Jit from one thread at a time (each call starts a pool
 * of its thread count and joins the previous one). The libraries' tests (CompiledModelContract,
 * ExecutorThreadCountTest) cover the thread-local.
 */
final class Jit implements AutoCloseable {
    private final LLVMOrcLLJITRef jit = new LLVMOrcLLJITRef();

    Jit(byte[] object) {
        check(LLVMOrcCreateLLJIT(jit, LLVMOrcCreateLLJITBuilder()));
        LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(jit);
        LLVMOrcDefinitionGeneratorRef process = new LLVMOrcDefinitionGeneratorRef();
        check(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(process, LLVMOrcLLJITGetGlobalPrefix(jit), null, null));
        LLVMOrcJITDylibAddGenerator(main, process);
        BytePointer data = new BytePointer(object);
        LLVMMemoryBufferRef buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(data, object.length, new BytePointer("kernels"));
        check(LLVMOrcLLJITAddObjectFile(jit, main, buffer));
    }

    /** Sets the calling thread's {@link ThreadPool}, as the executor's run function does. */
    private static final String SET_THREADS = "kiln_test_set_num_threads";

    /** Compiles kernels for {@code target} (optimized, as an object file) and loads them. */
    static Jit compile(dev.kiln.targets.Target target, dev.kiln.irlow.PrimFunc... kernels) {
        try (LlvmModule m = new LlvmModule("test", target)) {
            for (dev.kiln.irlow.PrimFunc k : kernels) m.addKernel(k);
            addSetThreads(m);
            LLVMSetThreadLocal(ThreadPool.current(m.module()), 0);
            m.optimize();
            return new Jit(m.emitObject());
        }
    }

    /**
     * Adds {@code void kiln_test_set_num_threads(i32)}, which replaces the current {@link
     * ThreadPool} by one of that many threads, as kiln_model_run does with its handle's. Without a store, LLVM knows the module-local pool stays null and
     * folds parallel regions away.
     */
    static void addSetThreads(LlvmModule m) {
        LLVMTypeRef i32 = LLVMInt32TypeInContext(m.context());
        LLVMValueRef fn = LLVMAddFunction(m.module(), SET_THREADS, LLVMFunctionType(LLVMVoidTypeInContext(m.context()), Ir.pp(i32), 1, 0));
        LLVMBuilderRef b = LLVMCreateBuilderInContext(m.context());
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(m.context(), fn, "entry"));
        LLVMValueRef current = ThreadPool.current(m.module());
        LLVMValueRef destroy = ThreadPool.destroy(m.module(), m::addFunctionAttributes), create = ThreadPool.create(m.module(), m::addFunctionAttributes);
        LLVMTypeRef ptr = LLVMPointerTypeInContext(m.context(), 0);
        LLVMBuildCall2(b, LLVMGlobalGetValueType(destroy), destroy, Ir.pp(LLVMBuildLoad2(b, ptr, current, "")), 1, "");
        LLVMValueRef pool = LLVMBuildCall2(b, LLVMGlobalGetValueType(create), create, Ir.pp(LLVMGetParam(fn, 0)), 1, "");
        LLVMBuildStore(b, pool, current);
        LLVMBuildRetVoid(b);
        LLVMDisposeBuilder(b);
    }

    MemorySegment address(String symbol) {
        LongPointer addr = new LongPointer(1);
        check(LLVMOrcLLJITLookup(jit, addr, symbol));
        return MemorySegment.ofAddress(addr.get());
    }

    /** A handle to {@code void kernel(ptr...)} with {@code buffers} pointer parameters. */
    MethodHandle kernel(String name, int buffers) {
        List<MemoryLayout> args = new ArrayList<>();
        for (int i = 0; i < buffers; i++) args.add(ValueLayout.ADDRESS);
        return Linker.nativeLinker().downcallHandle(address(name), FunctionDescriptor.ofVoid(args.toArray(new MemoryLayout[0])));
    }

    /** Calls a kernel with its buffers, on this thread with a thread count of {@code threads}. */
    void call(String name, int threads, MemorySegment... buffers) {
        try {
            Linker.nativeLinker().downcallHandle(address(SET_THREADS), FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT)).invoke(threads);
            kernel(name, buffers.length).invokeWithArguments((Object[]) buffers);
        } catch (Throwable t) {
            throw new RuntimeException(t);
        }
    }

    private static void check(LLVMErrorRef err) {
        if (err == null || err.isNull()) return;
        BytePointer msg = LLVMGetErrorMessage(err);
        String s = msg.getString();
        LLVMDisposeErrorMessage(msg);
        throw new IllegalStateException("LLJIT: " + s);
    }

    @Override
    public void close() {
        // Join the pool's workers first: they run code of this JIT, which disposing unmaps.
        try {
            Linker.nativeLinker().downcallHandle(address(SET_THREADS), FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT)).invoke(1);
        } catch (Throwable t) {
            throw new RuntimeException(t);
        }
        LLVMOrcDisposeLLJIT(jit);
    }
}
