package dev.kiln.codegen;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.targets.Target;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.llvm.LLVM.LLVMContextRef;
import org.bytedeco.llvm.LLVM.LLVMMemoryBufferRef;
import org.bytedeco.llvm.LLVM.LLVMModuleRef;
import org.bytedeco.llvm.LLVM.LLVMPassBuilderOptionsRef;
import org.bytedeco.llvm.LLVM.LLVMTargetMachineRef;
import org.bytedeco.llvm.LLVM.LLVMTargetRef;

/** Test helper: an LLVM module parsed from hand-written IR text, optimized and emitted without LlvmModule. */
final class RawLlvm implements AutoCloseable {
    final LLVMContextRef ctx = LLVMContextCreate();
    final LLVMModuleRef module;
    final LLVMTargetMachineRef tm;

    static {
        LLVMInitializeX86TargetInfo();
        LLVMInitializeX86Target();
        LLVMInitializeX86TargetMC();
        LLVMInitializeX86AsmPrinter();
        LLVMInitializeX86AsmParser();
    }

    RawLlvm(String irText, Target t) {
        byte[] bytes = irText.getBytes();
        BytePointer text = new BytePointer(bytes.length + 1L);
        text.put(bytes, 0, bytes.length).put(bytes.length, (byte) 0);
        LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(text, bytes.length, new BytePointer("ir"));
        LLVMModuleRef m = new LLVMModuleRef();
        BytePointer err = new BytePointer((Pointer) null);
        if (LLVMParseIRInContext(ctx, buf, m, err) != 0) throw new IllegalArgumentException("bad IR: " + err.getString());
        module = m;
        LLVMSetTarget(module, t.triple());
        LLVMTargetRef target = new LLVMTargetRef();
        if (LLVMGetTargetFromTriple(new BytePointer(t.triple()), target, err) != 0) throw new IllegalStateException(err.getString());
        tm = LLVMCreateTargetMachine(target, t.triple(), t.cpu(), t.features(), LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                LLVMCodeModelDefault);
        LLVMSetModuleDataLayout(module, LLVMCreateTargetDataLayout(tm));
    }

    void optimize() {
        BytePointer err = new BytePointer((Pointer) null);
        if (LLVMVerifyModule(module, LLVMReturnStatusAction, err) != 0) throw new IllegalStateException("invalid module: " + err.getString());
        LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
        try {
            org.bytedeco.llvm.LLVM.LLVMErrorRef e = LLVMRunPasses(module, "default<O3>", tm, o);
            if (e != null && !e.isNull()) throw new IllegalStateException(LLVMGetErrorMessage(e).getString());
        } finally {
            LLVMDisposePassBuilderOptions(o);
        }
    }

    byte[] emit(int fileType) {
        BytePointer err = new BytePointer((Pointer) null);
        LLVMMemoryBufferRef out = new LLVMMemoryBufferRef();
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, module, fileType, err, out) != 0) throw new IllegalStateException(err.getString());
        try {
            BytePointer start = LLVMGetBufferStart(out);
            byte[] data = new byte[(int) LLVMGetBufferSize(out)];
            start.capacity(data.length).get(data);
            return data;
        } finally {
            LLVMDisposeMemoryBuffer(out);
        }
    }

    String printIr() {
        BytePointer s = LLVMPrintModuleToString(module);
        try {
            return s.getString();
        } finally {
            LLVMDisposeMessage(s);
        }
    }

    @Override
    public void close() {
        LLVMDisposeModule(module);
        LLVMDisposeTargetMachine(tm);
        LLVMContextDispose(ctx);
    }
}
