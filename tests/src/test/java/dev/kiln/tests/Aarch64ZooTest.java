package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.codegen.Packaging;
import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.Npy;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import dev.kiln.targets.cpu.NativeModel;
import dev.kiln.targets.cpu.ProgramRuntime;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Correctness of cross-compiled aarch64 code, under qemu-user: every zoo model compiled for
 * {@code aarch64-neon:CPU} gives ONNX Runtime's outputs (run on x86, same random inputs) within
 * |a-b| <= 1e-4 + 1e-3|b|, both as a shared library driven by a C program through the C ABI
 * (dynamic, with the Debian cross sysroot) and as a {@code --static} program run without any
 * sysroot, which must have no dynamic section. One run per model, CPU and path: under qemu a
 * ResNet-18 or BERT run takes about 11 s.
 */
class Aarch64ZooTest {
    private static final Path SYSROOT = Path.of("/usr/aarch64-linux-gnu");
    private static final long TIMEOUT_S = 300;

    /** Per model: the random inputs (seed 1, as Kiln draws them) and ONNX Runtime's outputs on them. */
    private record Reference(List<NativeModel.TensorInfo> ins, List<NativeModel.TensorInfo> outs, Map<String, Tensor> inputs,
                             Map<String, Tensor> expected) {}

    private static final Map<String, Reference> REFERENCES = new ConcurrentHashMap<>();
    private static Path qemu;

    @TempDir
    Path dir;

    @BeforeAll
    static void needsTheCrossToolchain() {
        qemu = ProgramRuntime.qemuPath().orElse(null);
        assumeTrue(qemu != null, "qemu-aarch64 is not installed (Debian package qemu-user)");
        assumeTrue(Exec.onPath("aarch64-linux-gnu-gcc"), "aarch64-linux-gnu-gcc is not installed (Debian package gcc-aarch64-linux-gnu)");
        assumeTrue(Files.isDirectory(SYSROOT.resolve("lib")), SYSROOT + " is missing (Debian package libc6-dev-arm64-cross)");
        assumeTrue(Exec.onPath("readelf"), "readelf is not installed (binutils)");
    }

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"mlp,cortex-a72", "mlp,neoverse-n1", "mobilenetv2,cortex-a72", "mobilenetv2,neoverse-n1",
            "resnet18,cortex-a72", "resnet18,neoverse-n1", "bert,cortex-a72", "bert,neoverse-n1"})
    void libraryThroughTheCAbiMatchesOnnxRuntime(String model, String cpu) throws Exception {
        Reference ref = reference(model);
        var lib = Compiler.compile("zoo:" + model, dir.resolve(model + ".so"), options(cpu, Packaging.LIBRARY));
        Path harness = crossCompileHarness(lib.library(), lib.header());

        // Two threads: the parallel runtime (Kiln's thread pool: pthreads, futexes, the yield hint) runs on aarch64 too.
        List<String> cmd = new ArrayList<>(List.of(qemu.toString(), "-cpu", cpu, "-L", SYSROOT.toString(), harness.toString(),
                "2", "" + ref.ins().size(), "" + ref.outs().size()));
        for (var in : ref.ins()) {
            Path p = dir.resolve("in_" + in.name().replaceAll("\\W", "_") + ".bin");
            Files.write(p, ref.inputs().get(in.name()).toBytes());
            cmd.add(p.toString());
        }
        for (int i = 0; i < ref.outs().size(); i++) cmd.add(dir.resolve("out" + i + ".bin").toString());
        for (var o : ref.outs()) cmd.add("" + o.bytes());
        Exec.Result r = Exec.run(cmd, TIMEOUT_S);
        assertEquals(0, r.code(), model + " harness under qemu -cpu " + cpu + " failed: " + r.both());

        for (int i = 0; i < ref.outs().size(); i++) {
            var info = ref.outs().get(i);
            Tensor actual = Tensor.fromBytes(DType.fromNumpy(info.dtype()), Shape.of(info.shape()), Files.readAllBytes(dir.resolve("out" + i + ".bin")));
            assertMatches(actual, ref.expected().get(info.name()), model + " on " + cpu + " via the C ABI, output " + info.name());
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"mlp,cortex-a72", "mlp,neoverse-n1", "mobilenetv2,cortex-a72", "mobilenetv2,neoverse-n1",
            "resnet18,cortex-a72", "resnet18,neoverse-n1", "bert,cortex-a72", "bert,neoverse-n1"})
    void staticProgramWithoutSysrootMatchesOnnxRuntime(String model, String cpu) throws Exception {
        Reference ref = reference(model);
        Path exe = Compiler.compile("zoo:" + model, dir.resolve(model), options(cpu, Packaging.STATIC_EXECUTABLE)).library();
        Exec.Result elf = Exec.run(List.of("readelf", "-d", exe.toString()), TIMEOUT_S);
        assertTrue(elf.out().contains("There is no dynamic section"), "a --static program should load no shared library:\n" + elf.both());

        // No -L: the program must not need the sysroot at run time.
        List<String> cmd = new ArrayList<>(List.of(qemu.toString(), "-cpu", cpu, exe.toString(), "--threads", "1"));
        for (var e : ref.inputs().entrySet()) {
            Path p = dir.resolve("in_" + e.getKey().replaceAll("\\W", "_") + ".npy");
            Npy.write(p, e.getValue());
            cmd.addAll(List.of("--input", e.getKey() + "=" + p));
        }
        Path outDir = dir.resolve("out");
        cmd.addAll(List.of("--output-dir", outDir.toString()));
        Exec.Result r = Exec.run(cmd, TIMEOUT_S);
        assertEquals(0, r.code(), model + " static program under qemu -cpu " + cpu + " failed: " + r.both());

        for (var e : ref.expected().entrySet()) {
            Path p = outDir.resolve(Npy.fileName(e.getKey()));
            assertTrue(Files.exists(p), "the program wrote no " + p.getFileName() + ": " + r.both());
            assertMatches(Npy.read(p), e.getValue(), model + " on " + cpu + " as a static program, output " + e.getKey());
        }
    }

    private static void assertMatches(Tensor actual, Tensor expected, String what) {
        Compare c = Compare.of(actual, expected, 1e-4, 1e-3);
        assertTrue(c.ok(), what + ": " + c.detail());
    }

    private static Compiler.Options options(String cpu, Packaging packaging) {
        return new Compiler.Options(Target.parse("aarch64-neon:" + cpu), Map.of(), null, false, ConfigSource.DEFAULTS, packaging, null);
    }

    private static Reference reference(String model) {
        return REFERENCES.computeIfAbsent(model, m -> {
            try (KilnLibrary lib = new KilnLibrary(CompiledZoo.get(m).library(), 1);
                 OrtModel ort = new OrtModel(Zoo.onnxBytes(m), 1)) {
                Map<String, Tensor> inputs = lib.randomInputs(1);
                return new Reference(lib.inputInfo(), lib.outputInfo(), inputs, ort.run(inputs));
            }
        });
    }

    /** abi_harness.c cross-compiled to run once (its concurrency check would take minutes under qemu), found via -rpath. */
    private Path crossCompileHarness(Path lib, Path header) throws Exception {
        Path src = dir.resolve("abi_harness.c");
        try (InputStream in = getClass().getResourceAsStream("/abi_harness.c")) {
            Files.write(src, in.readAllBytes());
        }
        Path exe = dir.resolve("abi_harness");
        Exec.Result r = Exec.run(List.of("aarch64-linux-gnu-gcc", "-O1", "-Wall", "-Werror", "-DKILN_HARNESS_RUN_ONCE", "-include", header.toString(),
                src.toString(), "-o", exe.toString(), lib.toString(), "-Wl,-rpath," + lib.getParent(), "-lpthread"), TIMEOUT_S);
        assertEquals(0, r.code(), "aarch64-linux-gnu-gcc failed: " + r.both());
        return exe;
    }
}
