package dev.kiln.codegen;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.codegen.llvm.ThreadPool;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.llvm.LLVM.LLVMBasicBlockRef;
import org.bytedeco.llvm.LLVM.LLVMBuilderRef;
import org.bytedeco.llvm.LLVM.LLVMContextRef;
import org.bytedeco.llvm.LLVM.LLVMModuleRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Emits the ahead-of-time executor into the LLVM module that holds the kernels: the weights as
 * read-only data, the metadata string, and the functions of Kiln's C ABI.
 *
 * <pre>
 * const char* kiln_model_metadata(void);
 * KilnModel*  kiln_model_create(int num_threads);          // NULL on failure, see last_error
 * int         kiln_model_run(KilnModel*, const void* const* inputs, void* const* outputs);
 * void        kiln_model_destroy(KilnModel*);
 * const char* kiln_model_last_error(void);                 // per thread, "" if none
 * const char* kiln_model_profile_info(void);               // JSON, one object per kernel call
 * int         kiln_model_run_profiled(KilnModel*, const void* const* inputs, void* const* outputs,
 *                                     int64_t* times);     // times[2i], [2i+1]: call i's start, end
 * </pre>
 *
 * <p>The profiled run is a second copy of the run function with a {@code clock_gettime}
 * (CLOCK_MONOTONIC, nanoseconds) before and after each call, so the plain run pays nothing for it.
 *
 * A handle is {@code {ptr workspace, ptr pool}}. The executor owns the parallel runtime: create
 * starts the handle's {@link ThreadPool} (destroy joins it); the run function stores the handle's
 * pool in the calling thread's thread-local (where the kernels' parallel loops read it), then calls the kernels in the order of
 * {@link ModuleSpec#calls()}, each with its buffer pointers. Only these symbols are
 * exported; everything else in the module is made hidden or is local to it.
 */
public final class ExecutorCodegen {
    public static final List<String> EXPORTED = List.of("kiln_model_metadata", "kiln_model_create", "kiln_model_run",
            "kiln_model_destroy", "kiln_model_last_error", "kiln_model_profile_info", "kiln_model_run_profiled");
    /** Name prefix of the weight globals, so dumps can elide their bytes. */
    static final String CONST_PREFIX = "kiln.const.";
    /** {@code _SC_NPROCESSORS_ONLN} in glibc on Linux. */
    private static final int SC_NPROCESSORS_ONLN = 84;
    /** {@code CLOCK_MONOTONIC} on Linux. */
    private static final int CLOCK_MONOTONIC = 1;

    private ExecutorCodegen() {}

    /**
     * Emits the executor of {@code spec} into {@code m}, which must already hold every kernel the
     * spec calls; the executor's functions get the module's target attributes.
     */
    public static void emit(LlvmModule m, ModuleSpec spec) {
        spec.validate();
        new Emitter(m.context(), m.module(), spec, m::addFunctionAttributes).emit();
    }

    /** As {@link #emit(LlvmModule, ModuleSpec)}, on raw LLVM handles (no target attributes). */
    public static void emit(LLVMContextRef ctx, LLVMModuleRef module, ModuleSpec spec) {
        spec.validate();
        new Emitter(ctx, module, spec, f -> {}).emit();
    }

    /**
     * Replaces the bytes of every weight global with zeros, so that printing the module or its
     * assembly for a dump stays small. Only for dumps, after the real object has been emitted.
     */
    public static void elideConstants(LLVMModuleRef module) {
        for (LLVMValueRef g = LLVMGetFirstGlobal(module); g != null && !g.isNull(); g = LLVMGetNextGlobal(g)) {
            if (LLVMIsDeclaration(g) == 0 && nameOf(g).startsWith(CONST_PREFIX)) {
                LLVMSetInitializer(g, LLVMConstNull(LLVMGlobalGetValueType(g)));
            }
        }
    }

    static String nameOf(LLVMValueRef v) {
        BytePointer p = LLVMGetValueName(v);
        return p == null || p.isNull() ? "" : p.getString();
    }

    /** The IR building, one method per function of the ABI. */
    private static final class Emitter {
        private final LLVMContextRef ctx;
        private final LLVMModuleRef module;
        private final ModuleSpec spec;
        private final LLVMTypeRef i32, i64, ptr, handleType;
        private final LLVMValueRef lastError;
        private final LLVMValueRef empty;
        private final List<LLVMValueRef> constants = new ArrayList<>();
        private int cstrings;
        private final Consumer<LLVMValueRef> functionAttributes;
        private LLVMBuilderRef b;

        Emitter(LLVMContextRef ctx, LLVMModuleRef module, ModuleSpec spec, Consumer<LLVMValueRef> functionAttributes) {
            this.functionAttributes = functionAttributes;
            this.ctx = ctx;
            this.module = module;
            this.spec = spec;
            i32 = LLVMInt32TypeInContext(ctx);
            i64 = LLVMInt64TypeInContext(ctx);
            ptr = LLVMPointerTypeInContext(ctx, 0);
            handleType = LLVMStructTypeInContext(ctx, new PointerPointer<>(new Pointer[] {ptr, ptr}), 2, 0);
            // The last error: a pointer to a constant message, per thread. General/local-dynamic TLS
            // (not initial-exec), so that any number of models can be dlopen'ed into one process.
            lastError = LLVMAddGlobal(module, ptr, "kiln.last_error");
            LLVMSetLinkage(lastError, LLVMInternalLinkage);
            LLVMSetThreadLocal(lastError, 1);
            LLVMSetInitializer(lastError, LLVMConstNull(ptr));
            empty = cstring("");
        }

        void emit() {
            for (int i = 0; i < spec.constants().size(); i++) constants.add(constant(i, spec.constants().get(i).data()));
            b = LLVMCreateBuilderInContext(ctx);
            try {
                emitString("kiln_model_metadata", spec.metadataJsonOrDefault());
                emitLastError();
                emitCreate();
                emitRun(false);
                emitRun(true);
                emitString("kiln_model_profile_info", spec.profileJson());
                emitDestroy();
            } finally {
                LLVMDisposeBuilder(b);
            }
            hideEverythingElse();
        }

        /** Weights: private unnamed_addr constant [N x i8], align 64, copied once from Java to native. */
        private LLVMValueRef constant(int index, byte[] data) {
            LLVMTypeRef type = LLVMArrayType2(LLVMInt8TypeInContext(ctx), data.length);
            LLVMValueRef g = LLVMAddGlobal(module, type, CONST_PREFIX + index);
            try (BytePointer bytes = new BytePointer(data.length == 0 ? 1 : data.length)) {
                bytes.put(data, 0, data.length);
                LLVMSetInitializer(g, LLVMConstStringInContext2(ctx, bytes, data.length, 1));
            }
            LLVMSetLinkage(g, LLVMPrivateLinkage);
            LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
            LLVMSetGlobalConstant(g, 1);
            LLVMSetAlignment(g, (int) MemoryPlanner.ALIGN);
            return g;
        }

        /** A NUL-terminated private string constant. */
        private LLVMValueRef cstring(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            LLVMTypeRef type = LLVMArrayType2(LLVMInt8TypeInContext(ctx), utf8.length + 1L);
            LLVMValueRef g = LLVMAddGlobal(module, type, "kiln.str." + cstrings++);
            try (BytePointer bytes = new BytePointer(utf8.length + 1L)) {
                bytes.put(utf8, 0, utf8.length);
                LLVMSetInitializer(g, LLVMConstStringInContext2(ctx, bytes, utf8.length, 0));
            }
            LLVMSetLinkage(g, LLVMPrivateLinkage);
            LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
            LLVMSetGlobalConstant(g, 1);
            return g;
        }

        private LLVMValueRef function(String name, LLVMTypeRef ret, LLVMTypeRef... params) {
            if (LLVMGetNamedFunction(module, name) != null && !LLVMGetNamedFunction(module, name).isNull()) {
                throw new IllegalArgumentException("the module already defines " + name + "; emit the executor once");
            }
            LLVMValueRef f = LLVMAddFunction(module, name, fnType(ret, params));
            LLVMSetLinkage(f, LLVMExternalLinkage);
            LLVMSetVisibility(f, LLVMDefaultVisibility);
            LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, enumAttr("nounwind"));
            functionAttributes.accept(f);
            return f;
        }

        /** A C library function, declared once (kernels may have declared it already). */
        private LLVMValueRef libc(String name, LLVMTypeRef ret, LLVMTypeRef... params) {
            LLVMValueRef f = LLVMGetNamedFunction(module, name);
            if (f != null && !f.isNull()) return f;
            return LLVMAddFunction(module, name, fnType(ret, params));
        }

        private LLVMTypeRef fnType(LLVMTypeRef ret, LLVMTypeRef... params) {
            return LLVMFunctionType(ret, new PointerPointer<>(params.length == 0 ? new Pointer[] {null} : params),
                    params.length, 0);
        }

        private org.bytedeco.llvm.LLVM.LLVMAttributeRef enumAttr(String name) {
            int kind = LLVMGetEnumAttributeKindForName(name, name.length());
            return LLVMCreateEnumAttribute(ctx, kind, 0);
        }

        private LLVMBasicBlockRef block(LLVMValueRef f, String name) {
            return LLVMAppendBasicBlockInContext(ctx, f, name);
        }

        private LLVMValueRef call(LLVMValueRef f, LLVMValueRef... args) {
            LLVMTypeRef type = LLVMGlobalGetValueType(f);
            return LLVMBuildCall2(b, type, f, new PointerPointer<>(args.length == 0 ? new Pointer[] {null} : args),
                    args.length, "");
        }

        private LLVMValueRef i32(long v) {
            return LLVMConstInt(i32, v, 1);
        }

        private LLVMValueRef i64(long v) {
            return LLVMConstInt(i64, v, 1);
        }

        private LLVMValueRef isNull(LLVMValueRef p) {
            return LLVMBuildICmp(b, LLVMIntEQ, p, LLVMConstNull(ptr), "");
        }

        private LLVMValueRef field(LLVMValueRef handle, int index) {
            return LLVMBuildStructGEP2(b, handleType, handle, index, "");
        }

        /** Stores {@code message} as this thread's last error. */
        private void setError(String message) {
            LLVMBuildStore(b, cstring(message), lastError);
        }

        /** {@code const char *name(void)} returning the static string {@code value}. */
        private void emitString(String name, String value) {
            LLVMValueRef f = function(name, ptr);
            LLVMValueRef str = cstring(value);
            LLVMPositionBuilderAtEnd(b, block(f, "entry"));
            LLVMBuildRet(b, str);
        }

        private void emitLastError() {
            LLVMValueRef f = function("kiln_model_last_error", ptr);
            LLVMPositionBuilderAtEnd(b, block(f, "entry"));
            LLVMValueRef p = LLVMBuildLoad2(b, ptr, lastError, "");
            LLVMBuildRet(b, LLVMBuildSelect(b, isNull(p), empty, p, ""));
        }

        private void emitCreate() {
            LLVMValueRef sysconf = libc("sysconf", i64, i32);
            LLVMValueRef calloc = libc("calloc", ptr, i64, i64);
            LLVMValueRef alignedAlloc = libc("aligned_alloc", ptr, i64, i64);
            LLVMValueRef free = libc("free", LLVMVoidTypeInContext(ctx), ptr);
            LLVMValueRef f = function("kiln_model_create", ptr, i32);
            LLVMValueRef n = LLVMGetParam(f, 0);
            LLVMBasicBlockRef entry = block(f, "entry"), negative = block(f, "negative"), checkZero = block(f, "check_zero"),
                    countCpus = block(f, "count_cpus"), alloc = block(f, "alloc"), noMemory = block(f, "no_memory"),
                    init = block(f, "init");

            LLVMPositionBuilderAtEnd(b, entry);
            LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, n, i32(0), ""), negative, checkZero);

            LLVMPositionBuilderAtEnd(b, negative);
            setError("kiln_model_create: num_threads must be >= 0 (0 means one thread per online CPU)");
            LLVMBuildRet(b, LLVMConstNull(ptr));

            LLVMPositionBuilderAtEnd(b, checkZero);
            LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, n, i32(0), ""), countCpus, alloc);

            LLVMPositionBuilderAtEnd(b, countCpus);
            LLVMValueRef cpus = LLVMBuildTrunc(b, call(sysconf, i32(SC_NPROCESSORS_ONLN)), i32, "");
            LLVMValueRef online = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, cpus, i32(0), ""), cpus, i32(1), "");
            LLVMBuildBr(b, alloc);

            LLVMPositionBuilderAtEnd(b, alloc);
            LLVMValueRef threads = LLVMBuildPhi(b, i32, "num_threads");
            LLVMAddIncoming(threads, new PointerPointer<>(new Pointer[] {n, online}),
                    new PointerPointer<>(new Pointer[] {checkZero, countCpus}), 2);
            LLVMValueRef handle = call(calloc, i64(1), i64(16));
            LLVMBuildCondBr(b, isNull(handle), noMemory, init);

            LLVMPositionBuilderAtEnd(b, noMemory);
            setError("kiln_model_create: out of memory allocating the model handle");
            LLVMBuildRet(b, LLVMConstNull(ptr));

            LLVMPositionBuilderAtEnd(b, init);
            // The handle's workers (threads - 1 of them; none for one thread), joined by kiln_model_destroy.
            LLVMBuildStore(b, call(ThreadPool.create(module, functionAttributes), threads), field(handle, 1));
            long workspace = MemoryPlanner.alignUp(spec.workspaceBytes());
            if (workspace > 0) {
                LLVMBasicBlockRef noWorkspace = block(f, "no_workspace"), done = block(f, "done");
                LLVMValueRef ws = call(alignedAlloc, i64(MemoryPlanner.ALIGN), i64(workspace));
                LLVMBuildCondBr(b, isNull(ws), noWorkspace, done);

                LLVMPositionBuilderAtEnd(b, noWorkspace);
                call(ThreadPool.destroy(module, functionAttributes), LLVMBuildLoad2(b, ptr, field(handle, 1), "pool"));
                call(free, handle);
                setError("kiln_model_create: out of memory allocating the " + workspace + "-byte workspace");
                LLVMBuildRet(b, LLVMConstNull(ptr));

                LLVMPositionBuilderAtEnd(b, done);
                LLVMBuildStore(b, ws, field(handle, 0));
            }
            LLVMBuildRet(b, handle);
        }

        /**
         * kiln_model_run, or with {@code profiled} kiln_model_run_profiled: the same calls, each
         * between two reads of CLOCK_MONOTONIC stored to the caller's {@code times} array.
         */
        private void emitRun(boolean profiled) {
            String name = profiled ? "kiln_model_run_profiled" : "kiln_model_run";
            LLVMValueRef f = profiled ? function(name, i32, ptr, ptr, ptr, ptr) : function(name, i32, ptr, ptr, ptr);
            LLVMValueRef handle = LLVMGetParam(f, 0), inputs = LLVMGetParam(f, 1), outputs = LLVMGetParam(f, 2);
            LLVMBasicBlockRef entry = block(f, "entry");
            fail = new Fail(f, block(f, "fail"));
            LLVMPositionBuilderAtEnd(b, entry);
            LLVMTypeRef timespec = LLVMStructTypeInContext(ctx, new PointerPointer<>(new Pointer[] {i64, i64}), 2, 0);
            LLVMValueRef now = profiled ? LLVMBuildAlloca(b, timespec, "now") : null;
            LLVMValueRef times = profiled ? LLVMGetParam(f, 3) : null;

            failIf(isNull(handle), name + ": the model handle is NULL");
            if (!spec.inputs().isEmpty()) failIf(isNull(inputs), name + ": the inputs array is NULL");
            if (!spec.outputs().isEmpty()) failIf(isNull(outputs), name + ": the outputs array is NULL");
            if (profiled && !spec.calls().isEmpty()) failIf(isNull(times), name + ": the times array is NULL");
            List<LLVMValueRef> in = pointers(inputs, spec.inputs(), "input", name);
            List<LLVMValueRef> out = pointers(outputs, spec.outputs(), "output", name);

            LLVMBuildStore(b, LLVMBuildLoad2(b, ptr, field(handle, 1), "pool"), ThreadPool.current(module));
            LLVMValueRef workspace = LLVMBuildLoad2(b, ptr, field(handle, 0), "workspace");
            for (int c = 0; c < spec.calls().size(); c++) {
                KernelCall kc = spec.calls().get(c);
                LLVMValueRef kernel = kernel(kc);
                java.util.function.Function<Arg, LLVMValueRef> pointer = a -> switch (a) {
                    case Arg.Input(int k) -> in.get(k);
                    case Arg.Output(int k) -> out.get(k);
                    case Arg.Const(int k) -> constants.get(k);
                    case Arg.Workspace(long off) -> off == 0 ? workspace
                            : LLVMBuildInBoundsGEP2(b, LLVMInt8TypeInContext(ctx), workspace,
                                    new PointerPointer<>(new Pointer[] {i64(off)}), 1, "");
                };
                LLVMValueRef[] args = new LLVMValueRef[kc.args().size()];
                for (int i = 0; i < kc.args().size(); i++) args[i] = pointer.apply(kc.args().get(i));
                if (profiled) stamp(now, timespec, times, 2L * c);
                // A guarded call (a branch of an If decided at run time) is made only when each
                // condition holds; a skipped one still gets its two time stamps.
                LLVMBasicBlockRef after = kc.guards().isEmpty() ? null : block(f, "after_call" + c);
                for (int i = 0; i < kc.guards().size(); i++) {
                    ModuleSpec.Guard guard = kc.guards().get(i);
                    LLVMValueRef flag = LLVMBuildLoad2(b, LLVMInt8TypeInContext(ctx), pointer.apply(guard.cond()), "cond");
                    LLVMValueRef set = LLVMBuildICmp(b, LLVMIntNE, flag, LLVMConstInt(LLVMInt8TypeInContext(ctx), 0, 0), "");
                    LLVMBasicBlockRef next = block(f, "guard" + c + "_" + i);
                    LLVMBuildCondBr(b, set, guard.when() ? next : after, guard.when() ? after : next);
                    LLVMPositionBuilderAtEnd(b, next);
                }
                call(kernel, args);
                if (after != null) {
                    LLVMBuildBr(b, after);
                    LLVMPositionBuilderAtEnd(b, after);
                }
                if (profiled) stamp(now, timespec, times, 2L * c + 1);
            }
            LLVMBuildRet(b, i32(0));

            LLVMPositionBuilderAtEnd(b, fail.block);
            LLVMValueRef message = LLVMBuildPhi(b, ptr, "message");
            for (int i = 0; i < fail.messages.size(); i++) {
                LLVMAddIncoming(message, new PointerPointer<>(new Pointer[] {fail.messages.get(i)}),
                        new PointerPointer<>(new Pointer[] {fail.from.get(i)}), 1);
            }
            LLVMBuildStore(b, message, lastError);
            LLVMBuildRet(b, i32(1));
        }

        /** Stores CLOCK_MONOTONIC in nanoseconds to {@code times[slot]}, through the scratch timespec {@code now}. */
        private void stamp(LLVMValueRef now, LLVMTypeRef timespec, LLVMValueRef times, long slot) {
            call(libc("clock_gettime", i32, i32, ptr), i32(CLOCK_MONOTONIC), now);
            LLVMValueRef sec = LLVMBuildLoad2(b, i64, LLVMBuildStructGEP2(b, timespec, now, 0, ""), "sec");
            LLVMValueRef nsec = LLVMBuildLoad2(b, i64, LLVMBuildStructGEP2(b, timespec, now, 1, ""), "nsec");
            LLVMValueRef ns = LLVMBuildAdd(b, LLVMBuildMul(b, sec, i64(1_000_000_000L), ""), nsec, "ns");
            LLVMBuildStore(b, ns, LLVMBuildInBoundsGEP2(b, i64, times, new PointerPointer<>(new Pointer[] {i64(slot)}), 1, ""));
        }

        /** The shared failure exit of kiln_model_run: which block jumps there with which message. */
        private record Fail(LLVMValueRef function, LLVMBasicBlockRef block, List<LLVMValueRef> messages,
                            List<LLVMBasicBlockRef> from) {
            Fail(LLVMValueRef function, LLVMBasicBlockRef block) {
                this(function, block, new ArrayList<>(), new ArrayList<>());
            }
        }

        private Fail fail;

        /** Branches to the failure exit with {@code message} if {@code isBad}, else continues in a new block. */
        private void failIf(LLVMValueRef isBad, String message) {
            LLVMBasicBlockRef next = block(fail.function(), "ok");
            fail.messages().add(cstring(message));
            fail.from().add(LLVMGetInsertBlock(b));
            LLVMBuildCondBr(b, isBad, fail.block(), next);
            LLVMPositionBuilderAtEnd(b, next);
        }

        /** Loads each buffer pointer of an inputs/outputs array, failing with its name if it is NULL. */
        private List<LLVMValueRef> pointers(LLVMValueRef array, List<TensorSpec> specs, String what, String function) {
            List<LLVMValueRef> loaded = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) {
                LLVMValueRef slot = i == 0 ? array
                        : LLVMBuildInBoundsGEP2(b, ptr, array, new PointerPointer<>(new Pointer[] {i64(i)}), 1, "");
                LLVMValueRef p = LLVMBuildLoad2(b, ptr, slot, what + i);
                failIf(isNull(p), function + ": " + what + " " + i + " ('" + specs.get(i).name() + "') is NULL");
                loaded.add(p);
            }
            return loaded;
        }

        private LLVMValueRef kernel(KernelCall kc) {
            LLVMValueRef k = LLVMGetNamedFunction(module, kc.kernel());
            if (k == null || k.isNull() || LLVMIsDeclaration(k) != 0) {
                throw new IllegalArgumentException("kernel " + kc.kernel() + " is not defined in the LLVM module; add it before the executor");
            }
            LLVMTypeRef type = LLVMGlobalGetValueType(k);
            int params = LLVMCountParamTypes(type);
            if (params != kc.args().size()) {
                throw new IllegalArgumentException("kernel " + kc.kernel() + " takes " + params + " parameters in LLVM; the call passes "
                        + kc.args().size() + " buffers");
            }
            return k;
        }

        private void emitDestroy() {
            LLVMValueRef free = libc("free", LLVMVoidTypeInContext(ctx), ptr);
            LLVMValueRef f = function("kiln_model_destroy", LLVMVoidTypeInContext(ctx), ptr);
            LLVMValueRef handle = LLVMGetParam(f, 0);
            LLVMBasicBlockRef entry = block(f, "entry"), release = block(f, "release"), done = block(f, "done");
            LLVMPositionBuilderAtEnd(b, entry);
            LLVMBuildCondBr(b, isNull(handle), done, release);
            LLVMPositionBuilderAtEnd(b, release);
            call(ThreadPool.destroy(module, functionAttributes), LLVMBuildLoad2(b, ptr, field(handle, 1), "pool"));
            call(free, LLVMBuildLoad2(b, ptr, field(handle, 0), "workspace"));
            call(free, handle);
            LLVMBuildBr(b, done);
            LLVMPositionBuilderAtEnd(b, done);
            LLVMBuildRetVoid(b);
        }

        /** Every definition other than the entry points gets hidden visibility (or stays local). */
        private void hideEverythingElse() {
            Set<String> exported = Set.copyOf(EXPORTED);
            for (LLVMValueRef f = LLVMGetFirstFunction(module); f != null && !f.isNull(); f = LLVMGetNextFunction(f)) {
                hide(f, exported);
            }
            for (LLVMValueRef g = LLVMGetFirstGlobal(module); g != null && !g.isNull(); g = LLVMGetNextGlobal(g)) {
                hide(g, exported);
            }
        }

        private static void hide(LLVMValueRef v, Set<String> exported) {
            if (LLVMIsDeclaration(v) != 0 || exported.contains(nameOf(v))) return;
            int linkage = LLVMGetLinkage(v);
            if (linkage != LLVMInternalLinkage && linkage != LLVMPrivateLinkage) LLVMSetVisibility(v, LLVMHiddenVisibility);
        }
    }
}
