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
import org.bytedeco.llvm.LLVM.LLVMErrorRef;
import org.bytedeco.llvm.LLVM.LLVMMemoryBufferRef;
import org.bytedeco.llvm.LLVM.LLVMOrcDefinitionGeneratorRef;
import org.bytedeco.llvm.LLVM.LLVMOrcJITDylibRef;
import org.bytedeco.llvm.LLVM.LLVMOrcLLJITRef;

/**
 * Loads an object file emitted by {@link LlvmModule} into this process with LLVM's ORC LLJIT
 * (no linker needed) and calls its kernels through the FFM API. Symbols the object needs from
 * outside (libm, libgomp) are resolved in the process; libgomp is loaded first.
 */
final class Jit implements AutoCloseable {
    private static boolean gompLoaded;
    private final LLVMOrcLLJITRef jit = new LLVMOrcLLJITRef();

    Jit(byte[] object) {
        loadGomp();
        check(LLVMOrcCreateLLJIT(jit, LLVMOrcCreateLLJITBuilder()));
        LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(jit);
        LLVMOrcDefinitionGeneratorRef process = new LLVMOrcDefinitionGeneratorRef();
        check(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(process, LLVMOrcLLJITGetGlobalPrefix(jit), null, null));
        LLVMOrcJITDylibAddGenerator(main, process);
        BytePointer data = new BytePointer(object);
        LLVMMemoryBufferRef buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(data, object.length, new BytePointer("kernels"));
        check(LLVMOrcLLJITAddObjectFile(jit, main, buffer));
    }

    /** Compiles kernels for {@code target} (optimized, as an object file) and loads them. */
    static Jit compile(dev.kiln.targets.Target target, dev.kiln.irlow.PrimFunc... kernels) {
        try (LlvmModule m = new LlvmModule("test", target)) {
            for (dev.kiln.irlow.PrimFunc k : kernels) m.addKernel(k);
            m.optimize();
            return new Jit(m.emitObject());
        }
    }

    private static synchronized void loadGomp() {
        if (gompLoaded) return;
        if (LLVMLoadLibraryPermanently("libgomp.so.1") != 0) throw new IllegalStateException("cannot load libgomp.so.1");
        gompLoaded = true;
    }

    MemorySegment address(String symbol) {
        LongPointer addr = new LongPointer(1);
        check(LLVMOrcLLJITLookup(jit, addr, symbol));
        return MemorySegment.ofAddress(addr.get());
    }

    /** A handle to {@code void kernel(ptr..., i32 num_threads)} with {@code buffers} pointer parameters. */
    MethodHandle kernel(String name, int buffers) {
        List<MemoryLayout> args = new ArrayList<>();
        for (int i = 0; i < buffers; i++) args.add(ValueLayout.ADDRESS);
        args.add(ValueLayout.JAVA_INT);
        return Linker.nativeLinker().downcallHandle(address(name), FunctionDescriptor.ofVoid(args.toArray(new MemoryLayout[0])));
    }

    /** Calls a kernel with its buffers and a thread count. */
    void call(String name, int threads, MemorySegment... buffers) {
        Object[] args = new Object[buffers.length + 1];
        System.arraycopy(buffers, 0, args, 0, buffers.length);
        args[buffers.length] = threads;
        try {
            kernel(name, buffers.length).invokeWithArguments(args);
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
        LLVMOrcDisposeLLJIT(jit);
    }
}
