package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.analysis.LaunchExtents;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.GpuTarget;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.llvm.LLVM.LLVMBasicBlockRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Generates one kernel ({@link PrimFunc}) into an {@link LlvmModule}. The ABI is
 * {@code void name(ptr noalias p0, ..., ptr noalias pN)}: one pointer per buffer parameter (no
 * alignment promised; on a GPU, 16-byte aligned device buffers). The threads parallel loops may
 * use are not a parameter: they are the module's thread-local {@link ThreadPool#current}, which the
 * executor sets before it calls the kernels. On a CPU the function has hidden visibility (the
 * executor in the same module calls it); on a GPU it is a PTX kernel entry.
 *
 * <p>Loops: SERIAL and VECTORIZED become counted loops (the latter with a vectorize hint);
 * UNROLLED is expanded when its extent is a constant of at most 64, else hinted; PARALLEL is
 * outlined into {@code <kernel>.par<k>(ptr closure, i64 begin, i64 end)} and run by the handle's
 * {@link ThreadPool} (chunks of the iterations on every thread); with one thread the region is
 * called directly, and a parallel loop inside another runs serially. After a {@link CodegenException} the module holds a half-built function: discard it.
 */
public final class KernelCodegen {
    /** Allocations up to this size live on the stack; larger ones on the heap. */
    static final long MAX_STACK_ALLOCATION = 64 * 1024;
    private static final int MAX_INLINE_UNROLL = 64;
    /** What a GPU thread may allocate privately (what OpenCL work-items may too). */
    static final long MAX_GPU_PRIVATE_BYTES = 16 * 1024;
    /** Alignment of GPU kernel buffers: parameters (device allocations) and shared arrays. */
    static final int GPU_BUFFER_ALIGN = 16;
    /** NVPTX's address space of shared memory. */
    static final int SHARED_ADDRESS_SPACE = 3;

    private final FunctionScope f;
    private final LlvmModule m;
    private final Ir ir;
    private final ExprCodegen exprs;
    private int parallelRegions;

    private KernelCodegen(FunctionScope f) {
        this.f = f;
        this.m = f.m;
        this.ir = f.ir;
        this.exprs = new ExprCodegen(f);
    }

    /** Generates {@code func} into {@code m} and returns the LLVM function. */
    public static LLVMValueRef emit(LlvmModule m, PrimFunc func) {
        if (!Ir.isNull(LLVMGetNamedFunction(m.module(), func.name()))) {
            throw new CodegenException("kernel '" + func.name() + "' is defined twice in module for target "
                    + m.target().name());
        }
        Ir types = new Ir(m, null);
        int n = func.params().size();
        LLVMTypeRef[] params = new LLVMTypeRef[n];
        for (int i = 0; i < n; i++) params[i] = types.ptr();
        LLVMValueRef fn = LLVMAddFunction(m.module(), func.name(),
                LLVMFunctionType(types.voidType(), Ir.pp(params), n, 0));
        boolean gpu = m.target() instanceof GpuTarget;
        if (gpu) LLVMSetFunctionCallConv(fn, LLVMPTXKernelCallConv); // a kernel entry (.entry), launched by the driver
        else LLVMSetVisibility(fn, LLVMHiddenVisibility);
        m.addFunctionAttributes(fn);
        // A kernel stays a function of its own (the executor calls each once): profiles then name it.
        if (!gpu) m.addAttribute(fn, LLVMAttributeFunctionIndex, "noinline");
        FunctionScope scope = new FunctionScope(m, fn, func.name(), false);
        for (int i = 0; i < n; i++) {
            Buffer b = func.params().get(i);
            LLVMValueRef p = LLVMGetParam(fn, i);
            LLVMSetValueName2(p, b.name(), b.name().length());
            m.addAttribute(fn, i + 1, "noalias");
            m.addAttribute(fn, i + 1, "nocapture");
            // GPU buffers are whole device allocations (256-byte aligned): vector accesses at
            // indices LLVM can prove are multiples of the width become ld.global.v4 / st.global.v4.
            if (gpu) m.addAttribute(fn, i + 1, "align", GPU_BUFFER_ALIGN);
            if (scope.bindBuffer(b.name(), p) != null) {
                throw new CodegenException("kernel '" + func.name() + "' has two parameters named '" + b.name() + "'");
            }
        }
        if (gpu) {
            try {
                LaunchExtents.of(func); // bound loops have constant extents, one per axis
            } catch (IllegalArgumentException e) {
                throw new CodegenException(e.getMessage());
            }
        }
        scope.gpu = gpu;
        scope.parallel = !gpu;
        new KernelCodegen(scope).stmt(func.body());
        scope.finish();
        return fn;
    }

    private void stmt(Stmt s) {
        switch (s) {
            case Stmt.For l -> loop(l);
            case Stmt.Store st -> store(st);
            case Stmt.LetStmt l -> {
                LLVMValueRef v = exprs.emit(l.value());
                LLVMValueRef prev = f.bindVar(l.var().name(), v);
                stmt(l.body());
                f.restoreVar(l.var().name(), prev);
            }
            case Stmt.IfThenElse i -> ifThenElse(i);
            case Stmt.Allocate a -> allocate(a);
            case Stmt.Barrier b -> {
                if (!f.gpu) throw new CodegenException("kernel '" + f.kernel + "' has a " + b.scope() + " barrier, but target "
                        + m.target().name() + " is a CPU; barriers and GPU memory scopes need a GPU target");
                // bar.sync 0: every thread of the block arrives, and memory (shared and global) written before is visible after.
                ir.call(m.function("llvm.nvvm.barrier0", LLVMFunctionType(ir.voidType(), Ir.pp(), 0, 0)));
            }
            case Stmt.Seq q -> {
                for (Stmt c : q.stmts()) stmt(c);
            }
        }
    }

    private void store(Stmt.Store st) {
        Type vt = st.value().type();
        int lanes = st.index().type().lanes();
        if (vt.scalar() != st.buffer().dtype() || (vt.lanes() != lanes && vt.lanes() != 1)) {
            throw new CodegenException("kernel '" + f.kernel + "': storing a " + vt + " into " + st.buffer().dtype()
                    + " buffer '" + st.buffer().name() + "' at a " + lanes + "-lane index: " + st);
        }
        exprs.store(st.buffer(), st.index(), exprs.emitStored(st));
    }

    private void ifThenElse(Stmt.IfThenElse s) {
        Type ct = s.cond().type();
        if (ct.lanes() != 1) {
            throw new CodegenException("kernel '" + f.kernel + "': an if needs a scalar condition, got " + ct + ": "
                    + s.cond());
        }
        LLVMValueRef c = exprs.cast(ct, Type.BOOL, exprs.emit(s.cond()));
        LLVMBasicBlockRef then = f.block("then"), merge;
        if (s.otherwise() == null) {
            merge = f.block("endif");
            LLVMBuildCondBr(ir.b, c, then, merge);
            LLVMPositionBuilderAtEnd(ir.b, then);
            stmt(s.then());
        } else {
            LLVMBasicBlockRef otherwise = f.block("else");
            merge = f.block("endif");
            LLVMBuildCondBr(ir.b, c, then, otherwise);
            LLVMPositionBuilderAtEnd(ir.b, then);
            stmt(s.then());
            LLVMBuildBr(ir.b, merge);
            LLVMPositionBuilderAtEnd(ir.b, otherwise);
            stmt(s.otherwise());
        }
        LLVMBuildBr(ir.b, merge);
        LLVMPositionBuilderAtEnd(ir.b, merge);
    }

    /**
     * Small buffers: a 64-byte aligned stack slot in the entry block; large: aligned_alloc/free.
     * On a GPU: SHARED buffers are arrays in the shared address space (one per block), others a
     * per-thread stack slot (registers, once LLVM promotes them) of at most {@link #MAX_GPU_PRIVATE_BYTES}.
     */
    private void allocate(Stmt.Allocate a) {
        Buffer buf = a.buffer();
        if (f.gpu) {
            gpuAllocate(a);
            return;
        }
        if (buf.scope() != dev.kiln.irlow.MemoryScope.GLOBAL)
            throw new CodegenException("kernel '" + f.kernel + "' allocates '" + buf.name() + "' in " + buf.scope() + " memory, but target "
                    + m.target().name() + " is a CPU; barriers and GPU memory scopes need a GPU target");
        long bytes = buf.size() * buf.dtype().bytes();
        LLVMValueRef ptr;
        LLVMValueRef heap = null;
        if (bytes <= MAX_STACK_ALLOCATION) {
            ptr = f.alloca(LLVMArrayType2(ir.memory(buf.dtype()), buf.size()), 64, buf.name());
        } else {
            LLVMValueRef alloc = m.function("aligned_alloc",
                    LLVMFunctionType(ir.ptr(), Ir.pp(ir.i64(), ir.i64()), 2, 0));
            heap = ir.call(alloc, ir.i64(64), ir.i64((bytes + 63) / 64 * 64));
            ptr = heap;
        }
        LLVMValueRef prev = f.bindBuffer(buf.name(), ptr);
        stmt(a.body());
        f.restoreBuffer(buf.name(), prev);
        if (heap != null) {
            LLVMValueRef free = m.function("free", LLVMFunctionType(ir.voidType(), Ir.pp(ir.ptr()), 1, 0));
            ir.call(free, heap);
        }
    }

    private void gpuAllocate(Stmt.Allocate a) {
        Buffer buf = a.buffer();
        long bytes = buf.size() * buf.dtype().bytes();
        LLVMTypeRef array = LLVMArrayType2(ir.memory(buf.dtype()), buf.size());
        LLVMValueRef ptr;
        if (buf.scope() == dev.kiln.irlow.MemoryScope.SHARED) {
            // One array per buffer, however often its allocation is generated (inside an unrolled loop).
            String name = (f.kernel + "_" + buf.name()).replaceAll("[^A-Za-z0-9_]", "_");
            LLVMValueRef g = LLVMGetNamedGlobal(m.module(), name);
            if (Ir.isNull(g)) {
                g = LLVMAddGlobalInAddressSpace(m.module(), array, name, SHARED_ADDRESS_SPACE);
                LLVMSetLinkage(g, LLVMInternalLinkage);
                LLVMSetInitializer(g, LLVMGetUndef(array));
                LLVMSetAlignment(g, GPU_BUFFER_ALIGN);
            }
            // Generic pointers everywhere else; LLVM infers the address space back (ld.shared / st.shared).
            ptr = LLVMBuildAddrSpaceCast(ir.b, g, ir.ptr(), buf.name());
        } else {
            if (bytes > MAX_GPU_PRIVATE_BYTES)
                throw new CodegenException("kernel '" + f.kernel + "' allocates '" + buf.name() + "' (" + buf.size() + " x " + buf.dtype() + ", "
                        + bytes + " bytes) in " + buf.scope() + " memory inside a GPU kernel; a GPU thread can hold at most "
                        + MAX_GPU_PRIVATE_BYTES + " bytes privately" + (buf.scope() == dev.kiln.irlow.MemoryScope.GLOBAL
                                ? ": hoist it out of the kernel into a workspace buffer" : ": make it smaller or SHARED"));
            ptr = f.alloca(array, 16, buf.name());
        }
        LLVMValueRef prev = f.bindBuffer(buf.name(), ptr);
        stmt(a.body());
        f.restoreBuffer(buf.name(), prev);
    }

    // ---- loops

    private void loop(Stmt.For l) {
        LLVMValueRef lo = index(l.var(), l.min());
        LLVMValueRef extent = index(l.var(), l.extent());
        switch (l.kind()) {
            case SERIAL -> counted(l.var(), lo, ir.add(lo, extent), l.body());
            case VECTORIZED -> counted(l.var(), lo, ir.add(lo, extent), l.body(), LoopMetadata.Hint.VECTORIZE);
            case UNROLLED -> {
                Long n = Ir.constIntValue(extent);
                if (n != null && n <= MAX_INLINE_UNROLL) unrolled(l.var(), lo, n, l.body());
                else counted(l.var(), lo, ir.add(lo, extent), l.body(), LoopMetadata.Hint.UNROLL_FULL);
            }
            case PARALLEL -> {
                Long n = Ir.constIntValue(extent);
                if (f.inParallel || !f.parallel || (n != null && n <= 1)) counted(l.var(), lo, ir.add(lo, extent), l.body());
                else parallel(l, lo, extent);
            }
            default -> {
                if (f.gpu && l.kind().isGpu()) {
                    gpuLoop(l, lo);
                    return;
                }
                throw new CodegenException("kernel '" + f.kernel + "': loop '" + l.var().name() + "' is bound to "
                    + l.kind() + ", but target " + m.target().name() + " is a CPU; GPU-bound loops need a GPU target");
            }
        }
    }

    /**
     * A loop bound to a block or thread index: its variable is {@code min + ctaid/tid} of the
     * axis, read from the PTX special register. Every loop bound to an axis spans the whole axis
     * ({@link LaunchExtents} refuses any other), so no thread needs a guard.
     */
    private void gpuLoop(Stmt.For l, LLVMValueRef lo) {
        ForKind kind = l.kind();
        char axis = switch (kind) {
            case GPU_BLOCK_X, GPU_THREAD_X -> 'x';
            case GPU_BLOCK_Y, GPU_THREAD_Y -> 'y';
            default -> 'z';
        };
        String register = "llvm.nvvm.read.ptx.sreg." + (kind.isGpuBlock() ? "ctaid." : "tid.") + axis;
        LLVMValueRef id = ir.call(m.function(register, LLVMFunctionType(ir.i32(), Ir.pp(), 0, 0)));
        withVar(l.var(), ir.add(lo, ir.cast(LLVMZExt, id, LLVMTypeOf(lo))), l.body());
    }

    /** A loop bound converted to the loop variable's type. */
    private LLVMValueRef index(Expr.Var var, Expr e) {
        if (!var.type().isInt() || var.type().isVector()) {
            throw new CodegenException("kernel '" + f.kernel + "': loop variable '" + var.name() + "' must be a scalar "
                    + "integer, got " + var.type());
        }
        return exprs.cast(e.type(), var.type(), exprs.emit(e));
    }

    /** for (var = lo; var < hi; var++) body, with a must-progress loop ID and the given hints. */
    private void counted(Expr.Var var, LLVMValueRef lo, LLVMValueRef hi, Stmt body, LoopMetadata.Hint... hints) {
        Long clo = Ir.constIntValue(lo), chi = Ir.constIntValue(hi);
        if (clo != null && chi != null && chi <= clo) return;
        if (clo != null && chi != null && chi == clo + 1) {
            withVar(var, lo, body);
            return;
        }
        String name = var.name();
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(ir.b);
        LLVMBasicBlockRef header = f.block(name + ".header");
        LLVMBasicBlockRef bodyBlock = f.block(name + ".body");
        LLVMBasicBlockRef exit = f.block(name + ".exit");
        LLVMBuildBr(ir.b, header);
        LLVMPositionBuilderAtEnd(ir.b, header);
        LLVMValueRef i = LLVMBuildPhi(ir.b, LLVMTypeOf(lo), name);
        LLVMAddIncoming(i, Ir.pp(lo), Ir.pp(pre), 1);
        LLVMBuildCondBr(ir.b, ir.icmp(LLVMIntSLT, i, hi), bodyBlock, exit);
        LLVMPositionBuilderAtEnd(ir.b, bodyBlock);
        withVar(var, i, body);
        // i < hi holds here, so i + 1 cannot overflow.
        LLVMValueRef next = ir.addNsw(i, LLVMConstInt(LLVMTypeOf(lo), 1, 0));
        LLVMBasicBlockRef latch = LLVMGetInsertBlock(ir.b);
        LoopMetadata.attach(m, LLVMBuildBr(ir.b, header), hints);
        LLVMAddIncoming(i, Ir.pp(next), Ir.pp(latch), 1);
        LLVMPositionBuilderAtEnd(ir.b, exit);
    }

    private void unrolled(Expr.Var var, LLVMValueRef lo, long n, Stmt body) {
        for (long k = 0; k < n; k++) withVar(var, ir.add(lo, Ir.scalarInt(LLVMTypeOf(lo), k)), body);
    }

    private void withVar(Expr.Var var, LLVMValueRef value, Stmt body) {
        LLVMValueRef prev = f.bindVar(var.name(), value);
        stmt(body);
        f.restoreVar(var.name(), prev);
    }

    // ---- parallel loops

    /**
     * Runs the iterations [lo, lo + extent) on a team of threads. The loop body becomes an
     * always-inline function taking every buffer it touches as a noalias parameter (inlined, that
     * becomes alias-scope metadata, so the outlined loop vectorizes as well as the kernel), called
     * from {@code <kernel>.par<k>(ptr closure)}, which unpacks a struct of everything the body
     * uses and picks this thread's chunk.
     */
    private void parallel(Stmt.For l, LLVMValueRef lo, LLVMValueRef extent) {
        FreeVars free = FreeVars.of(l.body());
        free.vars().remove(l.var().name());
        String name = f.kernel + ".par" + parallelRegions++;

        List<LLVMValueRef> captured = new ArrayList<>();
        captured.add(lo);
        captured.add(extent);
        for (Expr.Var v : free.vars().values()) captured.add(f.var(v));
        for (Buffer b : free.buffers().values()) captured.add(f.buffer(b));
        LLVMTypeRef[] fields = new LLVMTypeRef[captured.size()];
        for (int i = 0; i < fields.length; i++) fields[i] = LLVMTypeOf(captured.get(i));
        LLVMTypeRef closureType = LLVMStructTypeInContext(m.context(), Ir.pp(fields), fields.length, 0);
        // 64-byte aligned: captured let-variables may be vectors, which the struct aligns to their size.
        LLVMValueRef closure = f.alloca(closureType, 64, name + ".closure");
        for (int i = 0; i < fields.length; i++) {
            LLVMBuildStore(ir.b, captured.get(i), LLVMBuildStructGEP2(ir.b, closureType, closure, i, ""));
        }

        LLVMValueRef body = outlineBody(name + ".body", l, free, fields);
        LLVMValueRef entry = outlineEntry(name, closureType, fields, free.vars().size(), body);

        // The handle's pool runs the region (chunks of the iterations on every thread); no pool: one thread, inline.
        LLVMValueRef pool = LLVMBuildLoad2(ir.b, ir.ptr(), ThreadPool.current(m.module()), "pool");
        LLVMTypeRef index = LLVMTypeOf(extent);
        LLVMValueRef extent64 = index.equals(ir.i64()) ? extent : ir.cast(LLVMSExt, extent, ir.i64());
        LLVMBasicBlockRef team = f.block(name + ".team"), alone = f.block(name + ".alone"), done = f.block(name + ".done");
        LLVMValueRef many = ir.icmp(LLVMIntSGT, extent64, ir.i64(1));
        LLVMBuildCondBr(ir.b, LLVMBuildAnd(ir.b, LLVMBuildIsNotNull(ir.b, pool, ""), many, ""), team, alone);
        LLVMPositionBuilderAtEnd(ir.b, team);
        ir.call(ThreadPool.run(m.module(), m::addFunctionAttributes), pool, entry, closure, extent64);
        LLVMBuildBr(ir.b, done);
        LLVMPositionBuilderAtEnd(ir.b, alone);
        ir.call(entry, closure, ir.i64(0), extent64);
        LLVMBuildBr(ir.b, done);
        LLVMPositionBuilderAtEnd(ir.b, done);
    }

    /** {@code body(ptr noalias bufs..., vars..., begin, end)}: the loop over one chunk. */
    private LLVMValueRef outlineBody(String name, Stmt.For l, FreeVars free, LLVMTypeRef[] fields) {
        // Parameters: the buffers first (so they can carry noalias), then the variables, then the chunk.
        int nv = free.vars().size(), nb = free.buffers().size();
        LLVMTypeRef index = fields[0];
        LLVMTypeRef[] params = new LLVMTypeRef[nb + nv + 2];
        for (int i = 0; i < nb; i++) params[i] = ir.ptr();
        for (int i = 0; i < nv; i++) params[nb + i] = fields[2 + i];
        params[nb + nv] = index;
        params[nb + nv + 1] = index;
        LLVMValueRef fn = LLVMAddFunction(m.module(), name, LLVMFunctionType(ir.voidType(), Ir.pp(params), params.length, 0));
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        m.addFunctionAttributes(fn);
        m.addAttribute(fn, LLVMAttributeFunctionIndex, "alwaysinline");
        FunctionScope scope = new FunctionScope(m, fn, f.kernel, true);
        int p = 0;
        for (Buffer b : free.buffers().values()) {
            m.addAttribute(fn, p + 1, "noalias");
            m.addAttribute(fn, p + 1, "nocapture");
            scope.bindBuffer(b.name(), named(LLVMGetParam(fn, p++), b.name()));
        }
        for (Expr.Var v : free.vars().values()) scope.bindVar(v.name(), named(LLVMGetParam(fn, p++), v.name()));
        LLVMValueRef begin = LLVMGetParam(fn, p++);
        LLVMValueRef end = LLVMGetParam(fn, p);
        new KernelCodegen(scope).counted(l.var(), begin, end, l.body());
        scope.finish();
        return fn;
    }

    private static LLVMValueRef named(LLVMValueRef v, String name) {
        LLVMSetValueName2(v, name, name.length());
        return v;
    }

    /** {@code <kernel>.par<k>(ptr closure, i64 begin, i64 end)}: unpack, run iterations [lo + begin, lo + end). */
    private LLVMValueRef outlineEntry(String name, LLVMTypeRef closureType, LLVMTypeRef[] fields, int nvars,
                                      LLVMValueRef body) {
        LLVMValueRef fn = LLVMAddFunction(m.module(), name, LLVMFunctionType(ir.voidType(), Ir.pp(ir.ptr(), ir.i64(), ir.i64()), 3, 0));
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        m.addFunctionAttributes(fn);
        FunctionScope scope = new FunctionScope(m, fn, f.kernel, true);
        Ir e = scope.ir;
        LLVMValueRef closure = LLVMGetParam(fn, 0);
        LLVMValueRef[] v = new LLVMValueRef[fields.length];
        for (int i = 0; i < fields.length; i++) {
            v[i] = LLVMBuildLoad2(e.b, fields[i], LLVMBuildStructGEP2(e.b, closureType, closure, i, ""), "");
        }
        LLVMTypeRef index = fields[0];
        LLVMValueRef begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
        if (!index.equals(e.i64())) {
            begin = e.cast(LLVMTrunc, begin, index);
            end = e.cast(LLVMTrunc, end, index);
        }
        // Closure fields: lo, extent, variables, buffers; body parameters: buffers, variables, begin, end.
        int nb = fields.length - 2 - nvars;
        LLVMValueRef[] args = new LLVMValueRef[nb + nvars + 2];
        for (int i = 0; i < nb; i++) args[i] = v[2 + nvars + i];
        for (int i = 0; i < nvars; i++) args[nb + i] = v[2 + i];
        args[nb + nvars] = e.add(v[0], begin);
        args[nb + nvars + 1] = e.add(v[0], end);
        e.call(body, args);
        scope.finish();
        return fn;
    }
}
