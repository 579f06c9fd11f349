package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.irlow.PrimFunc;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.llvm.LLVM.LLVMContextRef;
import org.bytedeco.llvm.LLVM.LLVMErrorRef;
import org.bytedeco.llvm.LLVM.LLVMMemoryBufferRef;
import org.bytedeco.llvm.LLVM.LLVMModuleRef;
import org.bytedeco.llvm.LLVM.LLVMPassBuilderOptionsRef;
import org.bytedeco.llvm.LLVM.LLVMTargetDataRef;
import org.bytedeco.llvm.LLVM.LLVMTargetMachineRef;
import org.bytedeco.llvm.LLVM.LLVMTargetRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * An LLVM context and module for one target: kernels ({@link #addKernel}) and the executor are
 * added to it, then it is optimized once and emitted as an object file (or assembly). Not
 * thread-safe; one module per compilation. Close it to free the native memory.
 */
public final class LlvmModule implements AutoCloseable {
    private static boolean initialized;

    private final String name;
    private final Target target;
    private final LLVMContextRef context;
    private final LLVMModuleRef module;
    private final LLVMTargetMachineRef targetMachine;
    private final LLVMTargetDataRef dataLayout;
    private boolean closed;

    public LlvmModule(String name, Target target) {
        initializeTargets();
        this.name = name;
        this.target = target;
        LLVMTargetRef t = new LLVMTargetRef();
        BytePointer error = new BytePointer((Pointer) null);
        if (LLVMGetTargetFromTriple(new BytePointer(target.triple()), t, error) != 0) {
            String msg = message(error);
            throw new CodegenException("LLVM does not know the triple '" + target.triple() + "' of target "
                    + target.name() + ": " + msg);
        }
        targetMachine = LLVMCreateTargetMachine(t, target.triple(), target.cpu(), target.features(),
                LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
        if (Ir.isNull(targetMachine)) {
            throw new CodegenException("LLVM cannot create a machine for target " + target.name() + " (triple "
                    + target.triple() + ", cpu " + target.cpu() + ")");
        }
        context = LLVMContextCreate();
        module = LLVMModuleCreateWithNameInContext(name, context);
        LLVMSetTarget(module, target.triple());
        dataLayout = LLVMCreateTargetDataLayout(targetMachine);
        LLVMSetModuleDataLayout(module, dataLayout);
    }

    private static synchronized void initializeTargets() {
        if (initialized) return;
        LLVMInitializeAllTargetInfos();
        LLVMInitializeAllTargets();
        LLVMInitializeAllTargetMCs();
        LLVMInitializeAllAsmPrinters();
        LLVMInitializeAllAsmParsers();
        initialized = true;
    }

    /** The version of the LLVM Kiln compiles with, {@code major.minor.patch}: tuning records keep it. */
    public static String llvmVersion() {
        int[] major = new int[1], minor = new int[1], patch = new int[1];
        LLVMGetVersion(major, minor, patch);
        return major[0] + "." + minor[0] + "." + patch[0];
    }

    public Target target() { return target; }
    public LLVMContextRef context() { return context; }
    public LLVMModuleRef module() { return module; }
    public LLVMTargetMachineRef targetMachine() { return targetMachine; }

    /** Generates the kernel {@code f} into this module (see {@link KernelCodegen} for its ABI). */
    public void addKernel(PrimFunc f) {
        KernelCodegen.emit(this, f);
    }

    /**
     * Gives {@code fn} the attributes every function of this target needs: its CPU and features
     * (so LLVM uses AVX-512 and FMA), the preferred vector width, and nounwind. The executor's
     * functions should get them too.
     */
    public void addFunctionAttributes(LLVMValueRef fn) {
        LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", target.cpu());
        LLVMAddTargetDependentFunctionAttr(fn, "target-features", target.features());
        if (target instanceof CpuTarget cpu && cpu.vectorBits() >= 512) LLVMAddTargetDependentFunctionAttr(fn, "prefer-vector-width", "512");
        LLVMAddTargetDependentFunctionAttr(fn, "no-trapping-math", "true");
        addAttribute(fn, LLVMAttributeFunctionIndex, "nounwind");
    }

    /** Adds the enum attribute {@code attr} (e.g. "noalias") at {@code index} (LLVM's numbering: -1 is the function, 1.. the params). */
    void addAttribute(LLVMValueRef fn, int index, String attr) {
        addAttribute(fn, index, attr, 0);
    }

    void addAttribute(LLVMValueRef fn, int index, String attr, long value) {
        int kind = LLVMGetEnumAttributeKindForName(attr, attr.length());
        if (kind == 0) throw new IllegalStateException("LLVM has no attribute " + attr);
        LLVMAddAttributeAtIndex(fn, index, LLVMCreateEnumAttribute(context, kind, value));
    }

    /** The function {@code name} of this module, declared with {@code type} if it is not there yet. */
    LLVMValueRef function(String name, LLVMTypeRef type) {
        LLVMValueRef fn = LLVMGetNamedFunction(module, name);
        if (!Ir.isNull(fn)) return fn;
        return LLVMAddFunction(module, name, type);
    }

    /** Links NVIDIA's libdevice in when the kernels call its math functions (PTX modules; see {@link Libdevice}). */
    public void linkLibdevice() {
        Libdevice.linkIfNeeded(this);
    }

    /** Checks the module is well-formed; a failure is a bug in Kiln's code generation. */
    public void verify() {
        BytePointer error = new BytePointer((Pointer) null);
        if (LLVMVerifyModule(module, LLVMReturnStatusAction, error) != 0) {
            String msg = message(error);
            throw new CodegenException("internal error: the LLVM module '" + name + "' for target " + target.name()
                    + " is invalid (a code generation bug):\n" + msg);
        }
        message(error);
    }

    /** Verifies, then runs LLVM's O3 pipeline with loop and SLP vectorization. */
    public void optimize() {
        verify();
        LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
        try {
            LLVMPassBuilderOptionsSetLoopVectorization(options, 1);
            LLVMPassBuilderOptionsSetSLPVectorization(options, 1);
            LLVMPassBuilderOptionsSetLoopUnrolling(options, 1);
            LLVMPassBuilderOptionsSetLoopInterleaving(options, 1);
            check(LLVMRunPasses(module, "default<O3>", targetMachine, options), "optimizing");
        } finally {
            LLVMDisposePassBuilderOptions(options);
        }
    }

    /** The module as an ELF (or the target's) relocatable object, position-independent. */
    public byte[] emitObject() {
        return emit(LLVMObjectFile);
    }

    public String emitAssembly() {
        return new String(emit(LLVMAssemblyFile), java.nio.charset.StandardCharsets.UTF_8);
    }

    public String printIr() {
        BytePointer s = LLVMPrintModuleToString(module);
        try {
            return s.getString();
        } finally {
            LLVMDisposeMessage(s);
        }
    }

    private byte[] emit(int fileType) {
        BytePointer error = new BytePointer((Pointer) null);
        LLVMMemoryBufferRef buffer = new LLVMMemoryBufferRef();
        if (LLVMTargetMachineEmitToMemoryBuffer(targetMachine, module, fileType, error, buffer) != 0) {
            throw new CodegenException("LLVM failed to emit code for module '" + name + "', target " + target.name()
                    + ": " + message(error));
        }
        try {
            BytePointer start = LLVMGetBufferStart(buffer);
            byte[] bytes = new byte[(int) LLVMGetBufferSize(buffer)];
            start.capacity(bytes.length).get(bytes);
            return bytes;
        } finally {
            LLVMDisposeMemoryBuffer(buffer);
        }
    }

    private void check(LLVMErrorRef err, String what) {
        if (Ir.isNull(err)) return;
        BytePointer msg = LLVMGetErrorMessage(err);
        String text = msg.getString();
        LLVMDisposeErrorMessage(msg);
        throw new CodegenException("LLVM failed " + what + " module '" + name + "' for target " + target.name() + ": " + text);
    }

    private static String message(BytePointer error) {
        if (Ir.isNull(error)) return "";
        String s = error.getString();
        LLVMDisposeMessage(error);
        return s;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        LLVMDisposeModule(module);
        LLVMDisposeTargetData(dataLayout);
        LLVMDisposeTargetMachine(targetMachine);
        LLVMContextDispose(context);
    }
}
