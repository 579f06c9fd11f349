package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.codegen.llvm.ThreadPool;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.Target;
import dev.kiln.targets.cpu.NativeModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bytedeco.llvm.global.LLVM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thread pool kernels see is the one of the handle that runs them, on the thread that runs
 * them: a hand-written kernel writes the module's {@link ThreadPool#current} pool into its output
 * while two handles with different thread counts run at once on two threads; a one-thread
 * handle has no pool.
 */
class ExecutorThreadCountTest {
    static final String KERNEL = """
            @kiln.pool = internal thread_local global ptr null
            declare i32 @usleep(i32)
            define void @threads(ptr noalias %x, ptr noalias %out) {
              ; sleep first, so that a pool shared between threads would be overwritten meanwhile
              call i32 @usleep(i32 50)
              %p = load ptr, ptr @kiln.pool
              %n = ptrtoint ptr %p to i64
              store i64 %n, ptr %out
              ret void
            }
            """;

    static ModuleSpec spec() {
        Buffer x = new Buffer("x", ScalarType.I32, 1), out = new Buffer("out", ScalarType.I64, 1);
        PrimFunc threads = new PrimFunc("threads", List.of(x, out), new Stmt.Store(out, Exprs.idx(0), Exprs.intImm(ScalarType.I64, 0)));
        return new ModuleSpec("threads", List.of(new TensorSpec("x", ScalarType.I32, List.of(1L))),
                List.of(new TensorSpec("pool", ScalarType.I64, List.of(1L))), List.of(), 0, List.of(threads),
                List.of(new KernelCall("threads", List.of(new Arg.Input(0), new Arg.Output(0)))), null);
    }

    @Test
    void eachRunSetsItsHandlesPoolOnItsOwnThread(@TempDir Path dir) throws Exception {
        Target t = Target.avx2();
        Path obj = dir.resolve("threads.o"), so = dir.resolve("libthreads.so");
        try (RawLlvm m = new RawLlvm(KERNEL, t)) {
            ExecutorCodegen.emit(m.ctx, m.module, spec());
            m.optimize();
            Files.write(obj, m.emit(LLVM.LLVMObjectFile));
        }
        Linker.linkShared(obj, so, t);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (NativeModel model = NativeModel.load(so)) {
            List<Future<Long>> done = new ArrayList<>();
            for (int count : new int[] {3, 5}) {
                // 1000 runs of at least 50 us each: the two threads' runs overlap many times.
                done.add(pool.submit(() -> {
                    try (Arena arena = Arena.ofConfined(); NativeModel.Session mine = model.createSession(count);
                         NativeModel.Session one = model.createSession(1)) {
                        MemorySegment in = arena.allocate(4, 64), out = arena.allocate(8, 64);
                        long first = -1;
                        for (int iter = 0; iter < 1000; iter++) {
                            mine.run(new MemorySegment[] {in}, new MemorySegment[] {out});
                            long seen = out.get(ValueLayout.JAVA_LONG, 0);
                            if (first < 0) first = seen;
                            assertNotEquals(0L, seen, "a " + count + "-thread handle has a pool, iteration " + iter);
                            assertEquals(first, seen, "iteration " + iter);
                            if (iter % 100 == 0) {
                                one.run(new MemorySegment[] {in}, new MemorySegment[] {out});
                                assertEquals(0L, out.get(ValueLayout.JAVA_LONG, 0), "a one-thread handle on the same thread");
                            }
                        }
                        return first;
                    }
                }));
            }
            long a = done.get(0).get(2, TimeUnit.MINUTES), b = done.get(1).get(2, TimeUnit.MINUTES);
            assertNotEquals(a, b, "the two handles have pools of their own");
        } finally {
            pool.shutdownNow();
        }
    }
}
