package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import dev.kiln.targets.cpu.NativeModel;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every compiled model library must do, checked on a two-kernel model:
 * {@code y = x * w} (w a constant) into the workspace, {@code z = reverse(y)} at another workspace
 * offset (so a wrong offset corrupts the result), then {@code out = relu(z)}.
 * Subclasses say how the library is built (hand-written LLVM kernels, or the whole NativeCompiler).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CompiledModelContract {
    static final int N = 1000;
    static final long Y_OFFSET = 64;
    static final long Z_OFFSET = 4096;

    Path dir;
    Path so;
    NativeModel model;

    /** Builds {@code spec} into {@code so} and writes its header beside it. */
    abstract void build(ModuleSpec spec, Path so) throws Exception;

    @BeforeAll
    void buildOnce() throws Exception {
        dir = Files.createTempDirectory("kiln-codegen-test");
        so = dir.resolve("libtwo_kernels.so");
        build(spec(), so);
        model = NativeModel.load(so);
    }

    @AfterAll
    void cleanUp() throws IOException {
        if (model != null) model.close();
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static float weight(int i) {
        return (i % 7) - 3 + 0.5f * (i % 3);
    }

    static float input(int i, int seed) {
        return ((i * 37 + seed * 11) % 201 - 100) * 0.0625f;
    }

    static float expected(int i, int seed) {
        int r = N - 1 - i;
        return Math.max(0f, input(r, seed) * weight(r));
    }

    static ModuleSpec spec() {
        float[] w = new float[N];
        for (int i = 0; i < N; i++) w[i] = weight(i);
        ByteBuffer wb = ByteBuffer.allocate(4 * N).order(ByteOrder.nativeOrder());
        wb.asFloatBuffer().put(w);

        Buffer x = new Buffer("x", ScalarType.F32, N), wt = new Buffer("w", ScalarType.F32, N),
                y = new Buffer("y", ScalarType.F32, N), yIn = new Buffer("y_in", ScalarType.F32, N),
                out = new Buffer("out", ScalarType.F32, N), z = new Buffer("z", ScalarType.F32, N),
                zIn = new Buffer("z_in", ScalarType.F32, N);
        Expr.Var i = Exprs.var("i"), j = Exprs.var("j"), k = Exprs.var("k");
        // The first loop is parallel, so compiled kernels run on the handle's thread pool.
        PrimFunc scale = new PrimFunc("scale", List.of(x, wt, y), new Stmt.For(i, Exprs.idx(0), Exprs.idx(N), ForKind.PARALLEL,
                new Stmt.Store(y, i, Exprs.mul(new Expr.Load(x, i), new Expr.Load(wt, i)))));
        PrimFunc reverse = new PrimFunc("reverse", List.of(yIn, z), new Stmt.For(k, Exprs.idx(0), Exprs.idx(N), ForKind.SERIAL,
                new Stmt.Store(z, k, new Expr.Load(yIn, Exprs.sub(Exprs.idx(N - 1), k)))));
        PrimFunc relu = new PrimFunc("relu", List.of(zIn, out), new Stmt.For(j, Exprs.idx(0), Exprs.idx(N), ForKind.SERIAL,
                new Stmt.Store(out, j, Exprs.max(new Expr.Load(zIn, j), Exprs.f32(0)))));
        return new ModuleSpec("two kernels", List.of(new TensorSpec("input.1", ScalarType.F32, List.of(1L, (long) N))),
                List.of(new TensorSpec("relu:0", ScalarType.F32, List.of(1L, (long) N))),
                List.of(new ModuleSpec.Constant("w", wb.array())), Z_OFFSET + 4L * N, List.of(scale, reverse, relu),
                List.of(new KernelCall("scale", List.of(new Arg.Input(0), new Arg.Const(0), new Arg.Workspace(Y_OFFSET))),
                        new KernelCall("reverse", List.of(new Arg.Workspace(Y_OFFSET), new Arg.Workspace(Z_OFFSET))),
                        new KernelCall("relu", List.of(new Arg.Workspace(Z_OFFSET), new Arg.Output(0)))),
                null);
    }

    static Target target() {
        return Target.avx2();
    }

    @Test
    void runMatchesTheReference() {
        try (Arena arena = Arena.ofConfined(); NativeModel.Session s = model.createSession(1)) {
            MemorySegment in = arena.allocate(4L * N, 64), out = arena.allocate(4L * N, 64);
            for (int seed = 0; seed < 3; seed++) {
                for (int i = 0; i < N; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, input(i, seed));
                s.run(new MemorySegment[] {in}, new MemorySegment[] {out});
                for (int i = 0; i < N; i++) {
                    assertEquals(expected(i, seed), out.getAtIndex(ValueLayout.JAVA_FLOAT, i), 0f, "seed " + seed + " element " + i);
                }
            }
        }
    }

    @Test
    void metadataDescribesInputsAndOutputs() {
        NativeModel.Metadata m = NativeModel.parseMetadata(model.metadataJson());
        assertEquals("two kernels", m.name());
        assertEquals(List.of(new NativeModel.TensorInfo("input.1", "float32", new long[] {1, N})), m.inputs());
        assertEquals(List.of(new NativeModel.TensorInfo("relu:0", "float32", new long[] {1, N})), m.outputs());
        assertEquals(m.inputs(), model.inputs());
    }

    @Test
    void numThreadsZeroMeansAllCpusAndNegativeIsAnError() {
        model.createSession(0).close();
        TargetException e = assertThrows(TargetException.class, () -> model.createSession(-1));
        assertTrue(e.getMessage().contains("num_threads"), e.getMessage());
    }

    @Test
    void closingTheModelClosesItsSessions() {
        NativeModel second = NativeModel.load(so);
        NativeModel.Session s = second.createSession(1);
        second.close();
        second.close();
        assertThrows(IllegalStateException.class, () -> s.run(new MemorySegment[1], new MemorySegment[1]));
        assertThrows(IllegalStateException.class, () -> second.createSession(1));
        s.close();
    }

    @Test
    void wrongBuffersAreRejectedBeforeTheCall() {
        try (Arena arena = Arena.ofConfined(); NativeModel.Session s = model.createSession(1)) {
            MemorySegment small = arena.allocate(4L * N - 4), ok = arena.allocate(4L * N);
            TargetException e = assertThrows(TargetException.class,
                    () -> s.run(new MemorySegment[] {small}, new MemorySegment[] {ok}));
            assertTrue(e.getMessage().contains("input 0") && e.getMessage().contains("4000"), e.getMessage());
            assertThrows(TargetException.class, () -> s.run(new MemorySegment[] {ok, ok}, new MemorySegment[] {ok}));
            assertThrows(TargetException.class,
                    () -> s.run(new MemorySegment[] {MemorySegment.ofArray(new float[N])}, new MemorySegment[] {ok}));
        }
    }

    /** Calls the C ABI directly, to pass the NULL pointers the Java wrapper refuses. */
    @Test
    void nullPointersFailWithANamedLastError() throws Throwable {
        try (Arena arena = Arena.ofShared()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(so, arena);
            Linker linker = Linker.nativeLinker();
            MethodHandle create = linker.downcallHandle(lib.findOrThrow("kiln_model_create"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            MethodHandle run = linker.downcallHandle(lib.findOrThrow("kiln_model_run"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            MethodHandle destroy = linker.downcallHandle(lib.findOrThrow("kiln_model_destroy"),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            MethodHandle lastError = linker.downcallHandle(lib.findOrThrow("kiln_model_last_error"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS));
            java.util.function.Supplier<String> error = () -> {
                try {
                    return ((MemorySegment) lastError.invoke()).reinterpret(4096).getString(0);
                } catch (Throwable t) {
                    throw new AssertionError(t);
                }
            };
            // A fresh thread has no error yet.
            String[] fresh = new String[1];
            Thread t = Thread.ofPlatform().start(() -> fresh[0] = error.get());
            t.join();
            assertEquals("", fresh[0]);

            MemorySegment handle = (MemorySegment) create.invoke(1);
            assertNotEquals(MemorySegment.NULL, handle);
            MemorySegment buf = arena.allocate(4L * N, 64);
            MemorySegment ins = arena.allocate(ValueLayout.ADDRESS, 1), outs = arena.allocate(ValueLayout.ADDRESS, 1);
            ins.setAtIndex(ValueLayout.ADDRESS, 0, MemorySegment.NULL);
            outs.setAtIndex(ValueLayout.ADDRESS, 0, buf);
            assertNotEquals(0, (int) run.invoke(handle, ins, outs));
            assertTrue(error.get().contains("input 0") && error.get().contains("input.1"), error.get());

            ins.setAtIndex(ValueLayout.ADDRESS, 0, buf);
            outs.setAtIndex(ValueLayout.ADDRESS, 0, MemorySegment.NULL);
            assertNotEquals(0, (int) run.invoke(handle, ins, outs));
            assertTrue(error.get().contains("output 0"), error.get());

            assertNotEquals(0, (int) run.invoke(handle, MemorySegment.NULL, outs));
            assertTrue(error.get().contains("inputs array"), error.get());
            assertNotEquals(0, (int) run.invoke(MemorySegment.NULL, ins, outs));
            assertTrue(error.get().contains("handle"), error.get());

            outs.setAtIndex(ValueLayout.ADDRESS, 0, buf);
            assertEquals(0, (int) run.invoke(handle, ins, outs));
            destroy.invoke(handle);
            destroy.invoke(MemorySegment.NULL); // NULL-safe
        }
    }

    /** Two sessions on two threads at once, each with its own inputs, checked every iteration. */
    @Test
    void sessionsRunConcurrently() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int worker = 0; worker < 2; worker++) {
                int seed = 10 + worker;
                done.add(pool.submit(() -> {
                    try (Arena arena = Arena.ofConfined(); NativeModel.Session s = model.createSession(2)) {
                        MemorySegment in = arena.allocate(4L * N, 64), out = arena.allocate(4L * N, 64);
                        for (int i = 0; i < N; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, input(i, seed));
                        for (int iter = 0; iter < 300; iter++) {
                            out.fill((byte) 0x7f);
                            s.run(new MemorySegment[] {in}, new MemorySegment[] {out});
                            for (int i = 0; i < N; i++) {
                                float got = out.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                                if (got != expected(i, seed)) {
                                    throw new AssertionError("worker " + seed + " iteration " + iter + " element " + i + ": " + got);
                                }
                            }
                        }
                        return 300;
                    }
                }));
            }
            for (Future<Integer> f : done) assertEquals(300, f.get(2, TimeUnit.MINUTES));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void linksOnlyAgainstLibcLibmGompAndTheLoader() throws Exception {
        Exec r = Exec.run("readelf", "-d", "-W", so.toString());
        assumeTrue(r != null, "readelf is not installed");
        assertEquals(0, r.code(), r.output());
        Set<String> needed = new TreeSet<>();
        for (String line : r.output().split("\n")) {
            int a = line.indexOf("Shared library: [");
            if (a >= 0) needed.add(line.substring(a + "Shared library: [".length(), line.lastIndexOf(']')));
        }
        assertTrue(needed.contains("libc.so.6"), "NEEDED: " + needed);
        assertTrue(Set.of("libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2").containsAll(needed), "NEEDED: " + needed);
        assertTrue(r.output().contains("Library soname: [" + so.getFileName() + "]"), r.output());

        Exec syms = Exec.run("readelf", "--dyn-syms", "-W", so.toString());
        Set<String> exported = new TreeSet<>();
        for (String line : syms.output().split("\n")) {
            String[] f = line.trim().split("\\s+");
            // Num: Value Size Type Bind Vis Ndx Name
            if (f.length >= 8 && f[4].equals("GLOBAL") && !f[6].equals("UND")) exported.add(f[7]);
        }
        assertEquals(new TreeSet<>(ExecutorCodegen.EXPORTED), exported);
    }

    /** A C program built with gcc against the generated header runs the library like any C user would. */
    @Test
    void aCProgramRunsTheLibraryThroughTheHeader() throws Exception {
        assumeTrue(Exec.onPath("gcc"), "gcc is not installed");
        Path header = dir.resolve("libtwo_kernels.h");
        assertTrue(Files.isRegularFile(header), "header missing");
        Path src = dir.resolve("main.c"), exe = dir.resolve("main");
        Files.writeString(src, """
                #include "libtwo_kernels.h"
                #include <stdio.h>
                #include <string.h>

                static float weight(int i) { return (i % 7) - 3 + 0.5f * (i % 3); }
                static float input(int i) { return ((i * 37 + 5 * 11) % 201 - 100) * 0.0625f; }

                int main(void) {
                    static float x[1000], out[1000];
                    _Static_assert(KILN_TWO_KERNELS_NUM_INPUTS == 1, "inputs");
                    _Static_assert(KILN_TWO_KERNELS_INPUT_0_BYTES == sizeof x, "input bytes");
                    _Static_assert(KILN_TWO_KERNELS_OUTPUT_0_BYTES == sizeof out, "output bytes");
                    _Static_assert(KILN_TWO_KERNELS_INPUT_INPUT_1_INDEX == 0, "input index");
                    for (int i = 0; i < 1000; i++) x[i] = input(i);
                    if (strstr(kiln_model_metadata(), "\\"input.1\\"") == NULL) return 10;
                    if (strcmp(kiln_model_last_error(), "") != 0) return 11;
                    KilnModel *m = kiln_model_create(2);
                    if (!m) return 12;
                    const void *ins[1] = {x};
                    void *outs[1] = {out};
                    if (kiln_model_run(m, ins, outs) != 0) return 13;
                    for (int i = 0; i < 1000; i++) {
                        float v = x[999 - i] * weight(999 - i);
                        float e = v > 0 ? v : 0;
                        if (out[i] != e) { printf("element %d: %g != %g\\n", i, out[i], e); return 14; }
                    }
                    const void *bad[1] = {NULL};
                    if (kiln_model_run(m, bad, outs) == 0) return 15;
                    if (strstr(kiln_model_last_error(), "input 0") == NULL) return 16;
                    kiln_model_destroy(m);
                    kiln_model_destroy(NULL);
                    printf("ok\\n");
                    return 0;
                }
                """);
        Exec cc = Exec.run("gcc", "-std=c11", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", dir.toString(),
                src.toString(), "-o", exe.toString(), "-L", dir.toString(), "-ltwo_kernels", "-Wl,-rpath," + dir);
        assertEquals(0, cc.code(), "gcc failed:\n" + cc.output());
        Exec run = Exec.run(exe.toString());
        assertEquals(0, run.code(), "the C program failed:\n" + run.output());
        assertEquals("ok", run.output().strip());
    }

    /** A finished external command. */
    record Exec(int code, String output) {
        /** Runs a command; null if the program is not installed. */
        static Exec run(String... cmd) throws IOException, InterruptedException {
            if (!cmd[0].contains("/") && !onPath(cmd[0])) return null;
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return new Exec(-1, "timed out");
            }
            return new Exec(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        }

        static boolean onPath(String tool) {
            for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
                if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) return true;
            }
            return false;
        }
    }
}
