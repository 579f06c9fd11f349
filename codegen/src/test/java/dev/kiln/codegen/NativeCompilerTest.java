package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole native back end: loop-IR kernels through LLVM, the executor, lld and the header. */
class NativeCompilerTest extends CompiledModelContract {
    NativeCompiler.Result result;

    @Override
    void build(ModuleSpec spec, Path so) {
        result = NativeCompiler.compile(spec, target(), so, NativeCompiler.Options.defaults());
    }

    @Test
    void reportsWhatItWroteAndHowLong() {
        assertEquals(so, result.library());
        assertEquals(so.resolveSibling("libtwo_kernels.h"), result.header());
        assertEquals(List.of("emit", "link", "header"), List.copyOf(result.stepMillis().keySet()));
        assertTrue(result.totalMillis() >= 0);
    }

    /** AVX-512 code can be built on any machine; it is run only where the CPU has AVX-512. */
    @Test
    void compilesForAvx512(@TempDir Path tmp) {
        Target avx512 = Target.parse("x86_64-avx512");
        Path lib = tmp.resolve("libz.so");
        NativeCompiler.compile(spec(), avx512, lib, NativeCompiler.Options.defaults());
        org.junit.jupiter.api.Assumptions.assumeTrue(avx512.canRunOnHost(), "this CPU has no AVX-512");
        try (NativeModel m = NativeModel.load(lib); Arena arena = Arena.ofConfined(); NativeModel.Session s = m.createSession(2)) {
            MemorySegment in = arena.allocate(4L * N, 64), out = arena.allocate(4L * N, 64);
            for (int i = 0; i < N; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, input(i, 3));
            s.run(new MemorySegment[] {in}, new MemorySegment[] {out});
            for (int i = 0; i < N; i++) assertEquals(expected(i, 3), out.getAtIndex(ValueLayout.JAVA_FLOAT, i), 0f, "element " + i);
        }
    }

    @Test
    void parallelLoopsNeedOnlyTheCLibrary() throws Exception {
        // Kiln's own thread pool (pthreads and futexes of libc) runs the parallel loops: no OpenMP runtime.
        Exec r = Exec.run("readelf", "-d", so.toString());
        org.junit.jupiter.api.Assumptions.assumeTrue(r != null, "readelf is not installed");
        assertTrue(r.output().contains("[libc.so.6]") && !r.output().contains("libgomp"), r.output());
    }

    @Test
    void onlyTheLibraryAndHeaderAreLeftInTheOutputDirectory() throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertEquals(List.of(), names, "temporary files left behind");
        }
    }

    @Test
    void dumpsKernelsWithoutTheWeightBytes(@TempDir Path tmp) throws Exception {
        Path dump = tmp.resolve("dump");
        var r = NativeCompiler.compile(spec(), target(), tmp.resolve("libd.so"), new NativeCompiler.Options(dump));
        String ll = Files.readString(dump.resolve("kernels.ll"));
        assertTrue(ll.contains("define") && ll.contains("@kiln_model_run") && ll.contains("@scale"), "kernels.ll");
        assertTrue(ll.contains("kiln.const.0") && ll.contains("zeroinitializer"), "weights should be elided in the dump");
        assertTrue(Files.readString(dump.resolve("kernels.s")).contains("kiln_model_run:"), "kernels.s");
    }

    /** A kernel the code generator rejects: compile fails and the output directory stays empty. */
    @Test
    void anInvalidKernelLeavesNothingBehind(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        ModuleSpec good = spec();
        Buffer a = new Buffer("a", ScalarType.F32, 4), stranger = new Buffer("not_a_param", ScalarType.F32, 4);
        PrimFunc bad = new PrimFunc("scale", List.of(a, a, a), new Stmt.Store(stranger, Exprs.idx(0), Exprs.f32(1)));
        ModuleSpec spec = new ModuleSpec(good.name(), good.inputs(), good.outputs(), good.constants(), good.workspaceBytes(),
                List.of(bad, good.kernels().get(1), good.kernels().get(2)), good.calls(), null);
        assertThrows(RuntimeException.class, () -> NativeCompiler.compile(spec, target(), out.resolve("libbad.so"),
                NativeCompiler.Options.defaults()));
        assertEquals(List.of(), listing(out));
    }

    /** Failing at the very end (the header cannot be put in place) removes the temporaries too. */
    @Test
    void aFailureWhilePublishingLeavesNothingBehind(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve("libx.h").resolve("blocker")); // a non-empty directory where the header goes
        assertThrows(RuntimeException.class, () -> NativeCompiler.compile(spec(), target(), out.resolve("libx.so"),
                NativeCompiler.Options.defaults()));
        assertEquals(List.of("libx.h"), listing(out));
    }

    @Test
    void aPlanThatDoesNotFitIsRejectedBeforeCodegen(@TempDir Path tmp) {
        ModuleSpec good = spec();
        List<KernelCall> calls = new ArrayList<>(good.calls());
        calls.set(2, new KernelCall("relu", List.of(new Arg.Workspace(4160), new Arg.Output(0)))); // past the workspace end
        ModuleSpec spec = new ModuleSpec(good.name(), good.inputs(), good.outputs(), good.constants(), good.workspaceBytes(),
                good.kernels(), calls, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeCompiler.compile(spec, target(), tmp.resolve("libw.so"), NativeCompiler.Options.defaults()));
        assertTrue(e.getMessage().contains("relu") && e.getMessage().contains("z_in"), e.getMessage());
    }

    private static List<String> listing(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
