package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import java.util.function.Consumer;
import org.bytedeco.llvm.LLVM.LLVMBasicBlockRef;
import org.bytedeco.llvm.LLVM.LLVMBuilderRef;
import org.bytedeco.llvm.LLVM.LLVMContextRef;
import org.bytedeco.llvm.LLVM.LLVMModuleRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Kiln's parallel runtime, generated into each CPU module (internal functions, nothing exported):
 * a pool of worker threads per model handle, created by {@code kiln_model_create} and joined by
 * {@code kiln_model_destroy}; a parallel region hands the pool a range of iterations.
 *
 * <p>How a region runs ({@code kiln.pool.run(pool, fn, closure, extent)}): the range is cut into
 * up to four chunks per thread, and each thread owns a contiguous run of them (thread t of T the
 * chunks [t C / T, (t + 1) C / T)): it runs its own first to last, then takes chunks from the front
 * of the other threads' runs, each claimed with a compare-and-swap on the owner's word (the
 * region's generation and the owner's next chunk). So a thread works on the same part of the
 * iteration space in every region, and what one kernel writes is read by the next from the
 * writer's own cache (reading lines another core wrote is about three times slower, measured on
 * Zen 5), while a worker the OS has descheduled still holds back at most the chunk it claimed. The
 * caller is thread 0 and returns when every chunk is done.
 *
 * <p>Waiting: a worker spins (with the CPU's pause hint) for {@link #SPIN} polls, tens of
 * microseconds, after each region, so the regions of one inference start without a system call,
 * then sleeps on a futex, so between inferences it takes no core from other threads of the
 * process (another runtime, the application). The caller waits for the last chunk the same way.
 * Fork/join cost with spinning workers: an atomic store, one compare-and-swap per chunk and a
 * counter per chunk; docs/performance.md has the measured figure.
 *
 * <p>Layout of the pool (a 256-byte header, hot words on their own cache lines, then a 64-byte
 * slot per thread): 64 done (i64: chunks finished), 128 generation (i32, the
 * workers' futex), 132 sleepers, 136 stop, 140 caller waiting, 144 done flag (i32, the caller's
 * futex), 192 fn, 200 closure, 208 extent, 216 chunk, 224 chunks, 232 workers (i32), 240 the
 * pthread_t array, 248 the allocation (the pool is it, rounded up to a cache line).
 */
public final class ThreadPool {
    /** Polls a worker makes for the next region before it sleeps. */
    static final int SPIN = Integer.getInteger("kiln.pool.spin", 4000);
    /**
     * Polls the caller makes for the chunks other threads still run before it sleeps: few, since a
     * thread that is late has usually lost its core, and a sleeping caller frees one for it.
     */
    static final int SPIN_JOIN = Integer.getInteger("kiln.pool.spinJoin", 256);
    /** Chunks per thread: more lets a busy machine rebalance, fewer keeps each thread's rows contiguous. */
    static final int CHUNKS_PER_THREAD = 4;

    public static final String CURRENT = "kiln.pool";
    static final String RUN = "kiln.pool.run", CREATE = "kiln.pool.create", DESTROY = "kiln.pool.destroy";
    private static final String WORKER = "kiln.pool.worker", WORK = "kiln.pool.work";
    private static final int DONE = 64, GENERATION = 128, SLEEPERS = 132, STOP = 136, WAITING = 140, DONE_FLAG = 144,
            FN = 192, CLOSURE = 200, EXTENT = 208, CHUNK = 216, CHUNKS = 224, WORKERS = 232, THREADS = 240, BLOCK = 248, SIZE = 256;
    /** A thread's slot (64 bytes, after the header): 0 claim (i64: generation << 32 | its next chunk), 8 end of its range (i64), 16 the pool, 24 its index (i32). */
    private static final int SLOT = 64, SLOT_CLAIM = 0, SLOT_END = 8, SLOT_POOL = 16, SLOT_INDEX = 24;
    private static final int FUTEX_WAIT_PRIVATE = 128, FUTEX_WAKE_PRIVATE = 129;

    private final LLVMModuleRef module;
    private final LLVMContextRef ctx;
    private final Consumer<LLVMValueRef> attributes;
    private final boolean aarch64;
    private final LLVMTypeRef i32, i64, ptr, voidType;
    private LLVMBuilderRef b;
    private LLVMValueRef fn;

    private ThreadPool(LLVMModuleRef module, Consumer<LLVMValueRef> attributes) {
        this.module = module;
        this.attributes = attributes;
        this.ctx = LLVMGetModuleContext(module);
        this.aarch64 = LLVMGetTarget(module).getString().startsWith("aarch64");
        i32 = LLVMInt32TypeInContext(ctx);
        i64 = LLVMInt64TypeInContext(ctx);
        ptr = LLVMPointerTypeInContext(ctx, 0);
        voidType = LLVMVoidTypeInContext(ctx);
    }

    /** {@code void kiln.pool.run(ptr pool, ptr fn, ptr closure, i64 extent)}, where {@code fn(closure, begin, end)} runs iterations [begin, end). */
    public static LLVMValueRef run(LLVMModuleRef module, Consumer<LLVMValueRef> attributes) {
        return new ThreadPool(module, attributes).define(RUN);
    }

    /** {@code ptr kiln.pool.create(i32 threads)}: a pool of threads - 1 workers, or null for one thread (or when no worker could start). */
    public static LLVMValueRef create(LLVMModuleRef module, Consumer<LLVMValueRef> attributes) {
        return new ThreadPool(module, attributes).define(CREATE);
    }

    /** {@code void kiln.pool.destroy(ptr pool)}: stops and joins the workers, frees the pool; null does nothing. */
    public static LLVMValueRef destroy(LLVMModuleRef module, Consumer<LLVMValueRef> attributes) {
        return new ThreadPool(module, attributes).define(DESTROY);
    }

    /**
     * The module's thread-local {@code ptr @kiln.pool}: the pool of the handle whose run is on this
     * thread (the executor stores it), null when it runs on one thread, so parallel regions run
     * inline. Internal, local-dynamic TLS (any number of models can be dlopen'ed).
     */
    public static LLVMValueRef current(LLVMModuleRef module) {
        LLVMValueRef g = LLVMGetNamedGlobal(module, CURRENT);
        if (!Ir.isNull(g)) return g;
        LLVMTypeRef p = LLVMPointerTypeInContext(LLVMGetModuleContext(module), 0);
        g = LLVMAddGlobal(module, p, CURRENT);
        LLVMSetLinkage(g, LLVMInternalLinkage);
        LLVMSetThreadLocal(g, 1);
        LLVMSetInitializer(g, LLVMConstNull(p));
        LLVMSetAlignment(g, 8);
        return g;
    }

    private LLVMValueRef define(String name) {
        LLVMValueRef existing = LLVMGetNamedFunction(module, name);
        if (!Ir.isNull(existing)) return existing;
        return switch (name) {
            case RUN -> defineRun();
            case CREATE -> defineCreate();
            case DESTROY -> defineDestroy();
            case WORK -> defineWork();
            case WORKER -> defineWorker();
            default -> throw new IllegalArgumentException(name);
        };
    }

    // ---- helpers

    private LLVMValueRef begin(String name, LLVMTypeRef ret, LLVMTypeRef... params) {
        fn = LLVMAddFunction(module, name, LLVMFunctionType(ret, Ir.pp(params), params.length, 0));
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        attributes.accept(fn);
        b = LLVMCreateBuilderInContext(ctx);
        LLVMPositionBuilderAtEnd(b, block("entry"));
        return fn;
    }

    private LLVMValueRef end() {
        LLVMDisposeBuilder(b);
        return fn;
    }

    private LLVMBasicBlockRef block(String name) {
        return LLVMAppendBasicBlockInContext(ctx, fn, name);
    }

    private void at(LLVMBasicBlockRef block) {
        LLVMPositionBuilderAtEnd(b, block);
    }

    private LLVMValueRef field(LLVMValueRef pool, int offset) {
        return LLVMBuildGEP2(b, LLVMInt8TypeInContext(ctx), pool, Ir.pp(LLVMConstInt(i64, offset, 0)), 1, "");
    }

    private LLVMValueRef load(LLVMTypeRef t, LLVMValueRef p, int ordering) {
        LLVMValueRef v = LLVMBuildLoad2(b, t, p, "");
        LLVMSetAlignment(v, t.equals(i32) ? 4 : 8);
        if (ordering != LLVMAtomicOrderingNotAtomic) LLVMSetOrdering(v, ordering);
        return v;
    }

    private void store(LLVMValueRef v, LLVMValueRef p, int ordering) {
        LLVMValueRef s = LLVMBuildStore(b, v, p);
        LLVMSetAlignment(s, LLVMTypeOf(v).equals(i32) ? 4 : 8);
        if (ordering != LLVMAtomicOrderingNotAtomic) LLVMSetOrdering(s, ordering);
    }

    private LLVMValueRef rmw(int op, LLVMValueRef p, LLVMValueRef v) {
        return LLVMBuildAtomicRMW(b, op, p, v, LLVMAtomicOrderingSequentiallyConsistent, 0);
    }

    private LLVMValueRef c32(long v) {
        return LLVMConstInt(i32, v, 0);
    }

    private LLVMValueRef c64(long v) {
        return LLVMConstInt(i64, v, 0);
    }

    private LLVMValueRef call(LLVMValueRef f, LLVMValueRef... args) {
        return LLVMBuildCall2(b, LLVMGlobalGetValueType(f), f, Ir.pp(args), args.length, "");
    }

    private LLVMValueRef libc(String name, LLVMTypeRef ret, boolean varargs, LLVMTypeRef... params) {
        LLVMValueRef f = LLVMGetNamedFunction(module, name);
        if (!Ir.isNull(f)) return f;
        return LLVMAddFunction(module, name, LLVMFunctionType(ret, Ir.pp(params), params.length, varargs ? 1 : 0));
    }

    /** futex(word, op, value, NULL) through libc's syscall(2); the number differs per architecture. */
    private void futex(LLVMValueRef word, int op, LLVMValueRef value) {
        long number = aarch64 ? 98 : 202;
        LLVMValueRef syscall = libc("syscall", i64, true, i64);
        call(syscall, c64(number), word, c32(op), value, LLVMConstNull(ptr));
    }

    /** The CPU's spin-wait hint: pause on x86, yield on aarch64. */
    private void pause() {
        boolean arm = aarch64;
        String name = arm ? "llvm.aarch64.hint" : "llvm.x86.sse2.pause";
        LLVMValueRef hint = LLVMGetNamedFunction(module, name);
        if (Ir.isNull(hint)) hint = LLVMAddFunction(module, name, arm ? LLVMFunctionType(voidType, Ir.pp(i32), 1, 0)
                : LLVMFunctionType(voidType, Ir.pp(), 0, 0));
        if (arm) call(hint, c32(1));
        else call(hint);
    }

    /**
     * Polls until {@code ready} (an i1 built in the poll block) holds: {@code spins} polls with the
     * CPU's pause hint, then {@code sleep} (which builds the futex wait and may end in another
     * block), then polling again. The builder is left where {@code ready} held.
     */
    private void pollThenSleep(java.util.function.Supplier<LLVMValueRef> ready, int spins, Runnable sleep) {
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), poll = block("poll"), spin = block("spin"), relax = block("relax"),
                doze = block("doze"), out = block("ready");
        LLVMBuildBr(b, poll);
        at(poll);
        LLVMValueRef count = LLVMBuildPhi(b, i32, "spins");
        LLVMBuildCondBr(b, ready.get(), out, spin);
        at(spin);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntULT, count, c32(spins), ""), relax, doze);
        at(relax);
        pause();
        LLVMValueRef next = LLVMBuildAdd(b, count, c32(1), "");
        LLVMBuildBr(b, poll);
        at(doze);
        sleep.run();
        LLVMBasicBlockRef woke = LLVMGetInsertBlock(b);
        LLVMBuildBr(b, poll);
        LLVMAddIncoming(count, Ir.pp(c32(0), next, c32(0)), Ir.pp(pre, relax, woke), 3);
        at(out);
    }

    /**
     * {@code futex(word, FUTEX_WAIT, expected)} when {@code *word} still holds {@code expected}
     * after {@code announce} (a seq_cst store or increment telling the waker to make the call),
     * then {@code retract}. Seq_cst on both sides: either the waker sees the announcement or this
     * thread sees the new value.
     */
    private void futexWaitIfUnchanged(LLVMValueRef word, LLVMValueRef expected, Runnable announce, Runnable retract) {
        announce.run();
        LLVMValueRef now = load(i32, word, LLVMAtomicOrderingSequentiallyConsistent);
        LLVMBasicBlockRef wait = block("futex_wait"), woke = block("woke");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, now, expected, ""), wait, woke);
        at(wait);
        futex(word, FUTEX_WAIT_PRIVATE, expected);
        LLVMBuildBr(b, woke);
        at(woke);
        retract.run();
    }

    // ---- the functions

    /** The slot of thread {@code index} (i64 or i32): its claim word, on a cache line of its own. */
    private LLVMValueRef slot(LLVMValueRef pool, LLVMValueRef index) {
        LLVMValueRef offset = LLVMBuildAdd(b, c64(SIZE), LLVMBuildMul(b, LLVMBuildZExt(b, index, i64, ""), c64(SLOT), ""), "");
        return LLVMBuildGEP2(b, LLVMInt8TypeInContext(ctx), pool, Ir.pp(offset), 1, "slot");
    }

    private LLVMValueRef slotField(LLVMValueRef slot, int offset) {
        return LLVMBuildGEP2(b, LLVMInt8TypeInContext(ctx), slot, Ir.pp(LLVMConstInt(i64, offset, 0)), 1, "");
    }

    /**
     * {@code void kiln.pool.work(ptr pool, i32 generation, i32 self)}: runs the chunks of thread
     * {@code self}'s range of that region, first to last, then takes what is left of the other
     * threads' ranges (from the front, one chunk at a time) until none is left.
     */
    private LLVMValueRef defineWork() {
        LLVMValueRef f = begin(WORK, voidType, ptr, i32, i32);
        LLVMValueRef pool = LLVMGetParam(f, 0), gen = LLVMGetParam(f, 1), self = LLVMGetParam(f, 2);
        LLVMValueRef threads = LLVMBuildAdd(b, load(i32, field(pool, WORKERS), LLVMAtomicOrderingNotAtomic), c32(1), "threads");
        LLVMBasicBlockRef entry = LLVMGetInsertBlock(b), slots = block("slots"), next = block("next_slot"), loop = block("claim"),
                check = block("check"), cas = block("cas"), run = block("run"), last = block("last"), wake = block("wake"),
                done = block("done");
        LLVMBuildBr(b, slots);
        // for j in 0 ..< threads: the slot of thread (self + j) % threads
        at(slots);
        LLVMValueRef j = LLVMBuildPhi(b, i32, "j");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntULT, j, threads, ""), loop, done);
        at(loop);
        LLVMValueRef owner = LLVMBuildURem(b, LLVMBuildAdd(b, self, j, ""), threads, "owner");
        LLVMValueRef slot = slot(pool, owner);
        LLVMValueRef claim = slotField(slot, SLOT_CLAIM);
        LLVMValueRef v = load(i64, claim, LLVMAtomicOrderingAcquire);
        LLVMValueRef vgen = LLVMBuildTrunc(b, LLVMBuildLShr(b, v, c64(32), ""), i32, "");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, vgen, gen, ""), check, next);
        at(check);
        LLVMValueRef index = LLVMBuildAnd(b, v, c64(0xffffffffL), "");
        // Monotonic: a thread late for its region may read the next region's end, harmlessly (its CAS then fails).
        LLVMValueRef stop = load(i64, slotField(slot, SLOT_END), LLVMAtomicOrderingMonotonic);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntULT, index, stop, ""), cas, next);
        at(cas);
        LLVMValueRef pair = LLVMBuildAtomicCmpXchg(b, claim, v, LLVMBuildAdd(b, v, c64(1), ""), LLVMAtomicOrderingAcquireRelease,
                LLVMAtomicOrderingAcquire, 0);
        LLVMBuildCondBr(b, LLVMBuildExtractValue(b, pair, 1, ""), run, loop);
        at(run);
        LLVMValueRef chunks = load(i64, field(pool, CHUNKS), LLVMAtomicOrderingMonotonic);
        LLVMValueRef body = load(ptr, field(pool, FN), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef closure = load(ptr, field(pool, CLOSURE), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef extent = load(i64, field(pool, EXTENT), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef chunk = load(i64, field(pool, CHUNK), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef first = LLVMBuildMul(b, index, chunk, "");
        LLVMValueRef end = LLVMBuildAdd(b, first, chunk, "");
        end = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, end, extent, ""), end, extent, "");
        LLVMTypeRef bodyType = LLVMFunctionType(voidType, Ir.pp(ptr, i64, i64), 3, 0);
        LLVMBuildCall2(b, bodyType, body, Ir.pp(closure, first, end), 3, "");
        LLVMValueRef finished = LLVMBuildAdd(b, rmw(LLVMAtomicRMWBinOpAdd, field(pool, DONE), c64(1)), c64(1), "");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, finished, chunks, ""), last, loop);
        at(last);
        // The last chunk: tell the caller, waking it if it sleeps (seq_cst on both sides: one of us sees the other).
        store(c32(1), field(pool, DONE_FLAG), LLVMAtomicOrderingSequentiallyConsistent);
        LLVMValueRef waiting = load(i32, field(pool, WAITING), LLVMAtomicOrderingSequentiallyConsistent);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntNE, waiting, c32(0), ""), wake, done);
        at(wake);
        futex(field(pool, DONE_FLAG), FUTEX_WAKE_PRIVATE, c32(1));
        LLVMBuildBr(b, done);
        at(next);
        LLVMValueRef j1 = LLVMBuildAdd(b, j, c32(1), "");
        LLVMBuildBr(b, slots);
        LLVMAddIncoming(j, Ir.pp(c32(0), j1), Ir.pp(entry, next), 2);
        at(done);
        LLVMBuildRetVoid(b);
        return end();
    }

    /**
     * {@code ptr kiln.pool.worker(ptr slot)}: the thread body (its slot holds the pool and its
     * index): wait for a new region, help with it, until stopped.
     */
    private LLVMValueRef defineWorker() {
        LLVMValueRef work = define(WORK);
        LLVMValueRef f = begin(WORKER, ptr, ptr);
        LLVMValueRef mine = LLVMGetParam(f, 0);
        LLVMValueRef pool = load(ptr, slotField(mine, SLOT_POOL), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef self = load(i32, slotField(mine, SLOT_INDEX), LLVMAtomicOrderingNotAtomic);
        LLVMBasicBlockRef entry = LLVMGetInsertBlock(b), loop = block("loop");
        LLVMBuildBr(b, loop);
        at(loop);
        LLVMValueRef seen = LLVMBuildPhi(b, i32, "seen");
        LLVMValueRef generation = field(pool, GENERATION), sleepers = field(pool, SLEEPERS);
        pollThenSleep(() -> LLVMBuildICmp(b, LLVMIntNE, load(i32, generation, LLVMAtomicOrderingAcquire), seen, ""), SPIN,
                () -> futexWaitIfUnchanged(generation, seen, () -> rmw(LLVMAtomicRMWBinOpAdd, sleepers, c32(1)),
                        () -> rmw(LLVMAtomicRMWBinOpSub, sleepers, c32(1))));
        // The claim words of this generation were published before it (release, then seq_cst).
        LLVMValueRef gen = load(i32, generation, LLVMAtomicOrderingAcquire);
        LLVMBasicBlockRef help = block("help"), exit = block("exit");
        LLVMValueRef stop = load(i32, field(pool, STOP), LLVMAtomicOrderingAcquire);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntNE, stop, c32(0), ""), exit, help);
        at(help);
        call(work, pool, gen, self);
        LLVMBuildBr(b, loop);
        LLVMAddIncoming(seen, Ir.pp(c32(0), gen), Ir.pp(entry, help), 2);
        at(exit);
        LLVMBuildRet(b, LLVMConstNull(ptr));
        return end();
    }

    private LLVMValueRef defineRun() {
        LLVMValueRef work = define(WORK);
        LLVMValueRef f = begin(RUN, voidType, ptr, ptr, ptr, i64);
        LLVMValueRef pool = LLVMGetParam(f, 0), body = LLVMGetParam(f, 1), closure = LLVMGetParam(f, 2), extent = LLVMGetParam(f, 3);
        // chunks = min(extent, threads * CHUNKS_PER_THREAD); chunk = ceil(extent / chunks); chunks = ceil(extent / chunk).
        LLVMValueRef threads32 = LLVMBuildAdd(b, load(i32, field(pool, WORKERS), LLVMAtomicOrderingNotAtomic), c32(1), "");
        LLVMValueRef threads = LLVMBuildZExt(b, threads32, i64, "threads");
        LLVMValueRef most = LLVMBuildMul(b, threads, c64(CHUNKS_PER_THREAD), "");
        LLVMValueRef chunks = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, extent, most, ""), extent, most, "");
        LLVMValueRef chunk = LLVMBuildSDiv(b, LLVMBuildSub(b, LLVMBuildAdd(b, extent, chunks, ""), c64(1), ""), chunks, "");
        chunks = LLVMBuildSDiv(b, LLVMBuildSub(b, LLVMBuildAdd(b, extent, chunk, ""), c64(1), ""), chunk, "");
        store(body, field(pool, FN), LLVMAtomicOrderingNotAtomic);
        store(closure, field(pool, CLOSURE), LLVMAtomicOrderingNotAtomic);
        store(extent, field(pool, EXTENT), LLVMAtomicOrderingNotAtomic);
        store(chunk, field(pool, CHUNK), LLVMAtomicOrderingNotAtomic);
        store(chunks, field(pool, CHUNKS), LLVMAtomicOrderingMonotonic);
        store(c64(0), field(pool, DONE), LLVMAtomicOrderingMonotonic);
        store(c32(0), field(pool, DONE_FLAG), LLVMAtomicOrderingMonotonic);
        // Publish each thread's range [t * chunks / threads, (t + 1) * chunks / threads): its end,
        // then its claim word (release: the job above is visible to whoever claims), then wake the workers.
        LLVMValueRef gen = LLVMBuildAdd(b, load(i32, field(pool, GENERATION), LLVMAtomicOrderingMonotonic), c32(1), "gen");
        LLVMValueRef genBits = LLVMBuildShl(b, LLVMBuildZExt(b, gen, i64, ""), c64(32), "");
        LLVMBasicBlockRef entry = LLVMGetInsertBlock(b), ranges = block("ranges"), range = block("range"), published = block("published");
        LLVMBuildBr(b, ranges);
        at(ranges);
        LLVMValueRef t = LLVMBuildPhi(b, i64, "t");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntULT, t, threads, ""), range, published);
        at(range);
        LLVMValueRef t1 = LLVMBuildAdd(b, t, c64(1), "");
        LLVMValueRef from = LLVMBuildUDiv(b, LLVMBuildMul(b, t, chunks, ""), threads, "");
        LLVMValueRef to = LLVMBuildUDiv(b, LLVMBuildMul(b, t1, chunks, ""), threads, "");
        LLVMValueRef slot = slot(pool, t);
        store(to, slotField(slot, SLOT_END), LLVMAtomicOrderingMonotonic);
        store(LLVMBuildOr(b, genBits, from, ""), slotField(slot, SLOT_CLAIM), LLVMAtomicOrderingRelease);
        LLVMBuildBr(b, ranges);
        LLVMAddIncoming(t, Ir.pp(c64(0), t1), Ir.pp(entry, range), 2);
        at(published);
        store(gen, field(pool, GENERATION), LLVMAtomicOrderingSequentiallyConsistent);
        LLVMBasicBlockRef wake = block("wake"), share = block("share");
        LLVMValueRef sleepers = load(i32, field(pool, SLEEPERS), LLVMAtomicOrderingSequentiallyConsistent);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntNE, sleepers, c32(0), ""), wake, share);
        at(wake);
        futex(field(pool, GENERATION), FUTEX_WAKE_PRIVATE, c32(Integer.MAX_VALUE));
        LLVMBuildBr(b, share);
        at(share);
        call(work, pool, gen, c32(0));
        // Wait for the chunks other threads claimed.
        LLVMValueRef total = chunks;
        pollThenSleep(() -> LLVMBuildICmp(b, LLVMIntEQ, load(i64, field(pool, DONE), LLVMAtomicOrderingAcquire), total, ""), SPIN_JOIN,
                () -> futexWaitIfUnchanged(field(pool, DONE_FLAG), c32(0),
                        () -> store(c32(1), field(pool, WAITING), LLVMAtomicOrderingSequentiallyConsistent),
                        () -> store(c32(0), field(pool, WAITING), LLVMAtomicOrderingSequentiallyConsistent)));
        LLVMBuildRetVoid(b);
        return end();
    }

    private LLVMValueRef defineCreate() {
        LLVMValueRef worker = define(WORKER);
        LLVMValueRef f = begin(CREATE, ptr, i32);
        LLVMValueRef threads = LLVMGetParam(f, 0);
        LLVMBasicBlockRef alloc = block("alloc"), none = block("none");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, threads, c32(1), ""), alloc, none);
        at(none);
        LLVMBuildRet(b, LLVMConstNull(ptr));
        at(alloc);
        LLVMValueRef calloc = libc("calloc", ptr, false, i64, i64);
        LLVMValueRef free = libc("free", voidType, false, ptr);
        // The header, then a slot per thread; calloc's 16-byte alignment is rounded up to a cache line.
        LLVMValueRef bytes = LLVMBuildAdd(b, c64(SIZE + 64), LLVMBuildMul(b, LLVMBuildZExt(b, threads, i64, ""), c64(SLOT), ""), "");
        LLVMValueRef memory = call(calloc, c64(1), bytes);
        LLVMValueRef aligned = LLVMBuildAnd(b, LLVMBuildAdd(b, LLVMBuildPtrToInt(b, memory, i64, ""), c64(63), ""), c64(~63L), "");
        LLVMValueRef pool = LLVMBuildIntToPtr(b, aligned, ptr, "pool");
        LLVMValueRef workers = LLVMBuildSub(b, threads, c32(1), "workers");
        LLVMValueRef ids = call(calloc, LLVMBuildZExt(b, workers, i64, ""), c64(8));
        LLVMBasicBlockRef ok = block("ok"), fail = block("fail");
        LLVMValueRef bad = LLVMBuildOr(b, LLVMBuildIsNull(b, memory, ""), LLVMBuildIsNull(b, ids, ""), "");
        LLVMBuildCondBr(b, bad, fail, ok);
        at(fail);
        call(free, memory);
        call(free, ids);
        LLVMBuildRet(b, LLVMConstNull(ptr));
        at(ok);
        store(ids, field(pool, THREADS), LLVMAtomicOrderingNotAtomic);
        store(memory, field(pool, BLOCK), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef pthreadCreate = libc("pthread_create", i32, false, ptr, ptr, ptr, ptr);
        LLVMBasicBlockRef loop = block("spawn"), body = block("spawn_one"), started = block("started"), after = block("after");
        LLVMBuildBr(b, loop);
        at(loop);
        LLVMValueRef k = LLVMBuildPhi(b, i32, "k");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, k, workers, ""), body, after);
        at(body);
        LLVMValueRef id = LLVMBuildGEP2(b, i64, ids, Ir.pp(LLVMBuildZExt(b, k, i64, "")), 1, "");
        // Worker k is thread k + 1 (the caller is thread 0); its slot tells it so.
        LLVMValueRef self = LLVMBuildAdd(b, k, c32(1), "self");
        LLVMValueRef slot = slot(pool, self);
        store(pool, slotField(slot, SLOT_POOL), LLVMAtomicOrderingNotAtomic);
        store(self, slotField(slot, SLOT_INDEX), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef rc = call(pthreadCreate, id, LLVMConstNull(ptr), worker, slot);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, rc, c32(0), ""), started, after);
        at(started);
        // The count of running workers, kept current so destroy joins exactly those that started.
        store(self, field(pool, WORKERS), LLVMAtomicOrderingNotAtomic);
        LLVMBuildBr(b, loop);
        LLVMAddIncoming(k, Ir.pp(c32(0), self), Ir.pp(ok, started), 2);
        at(after);
        // No worker started (out of threads): run serially.
        LLVMBasicBlockRef keep = block("keep"), drop = block("drop");
        LLVMValueRef running = load(i32, field(pool, WORKERS), LLVMAtomicOrderingNotAtomic);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, running, c32(0), ""), drop, keep);
        at(drop);
        call(free, ids);
        call(free, memory);
        LLVMBuildRet(b, LLVMConstNull(ptr));
        at(keep);
        LLVMBuildRet(b, pool);
        return end();
    }

    private LLVMValueRef defineDestroy() {
        LLVMValueRef f = begin(DESTROY, voidType, ptr);
        LLVMValueRef pool = LLVMGetParam(f, 0);
        LLVMBasicBlockRef stop = block("stop"), out = block("out");
        LLVMBuildCondBr(b, LLVMBuildIsNull(b, pool, ""), out, stop);
        at(stop);
        store(c32(1), field(pool, STOP), LLVMAtomicOrderingSequentiallyConsistent);
        rmw(LLVMAtomicRMWBinOpAdd, field(pool, GENERATION), c32(1));
        futex(field(pool, GENERATION), FUTEX_WAKE_PRIVATE, c32(Integer.MAX_VALUE));
        LLVMValueRef ids = load(ptr, field(pool, THREADS), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef workers = load(i32, field(pool, WORKERS), LLVMAtomicOrderingNotAtomic);
        LLVMValueRef join = libc("pthread_join", i32, false, i64, ptr);
        LLVMBasicBlockRef loop = block("join"), body = block("join_one"), freeAll = block("free");
        LLVMBuildBr(b, loop);
        at(loop);
        LLVMValueRef k = LLVMBuildPhi(b, i32, "k");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, k, workers, ""), body, freeAll);
        at(body);
        LLVMValueRef id = load(i64, LLVMBuildGEP2(b, i64, ids, Ir.pp(LLVMBuildZExt(b, k, i64, "")), 1, ""), LLVMAtomicOrderingNotAtomic);
        call(join, id, LLVMConstNull(ptr));
        LLVMValueRef k1 = LLVMBuildAdd(b, k, c32(1), "");
        LLVMBuildBr(b, loop);
        LLVMAddIncoming(k, Ir.pp(c32(0), k1), Ir.pp(stop, body), 2);
        at(freeAll);
        LLVMValueRef free = libc("free", voidType, false, ptr);
        call(free, ids);
        call(free, load(ptr, field(pool, BLOCK), LLVMAtomicOrderingNotAtomic));
        LLVMBuildBr(b, out);
        at(out);
        LLVMBuildRetVoid(b);
        return end();
    }
}
