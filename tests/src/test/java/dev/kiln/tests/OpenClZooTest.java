package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Correctness on OpenCL: every zoo model compiled with {@code --target opencl} (this machine's
 * first OpenCL device: PoCL's CPU device in CI) and run through the library's C ABI gives ONNX
 * Runtime's outputs within |a-b| <= 1e-4 + 1e-3|b|; and a broken OpenCL environment is a clear
 * error from the C ABI. Skipped only when this machine has no OpenCL platform.
 */
class OpenClZooTest {
    private static Target opencl;

    @TempDir
    Path dir;

    @BeforeAll
    static void needsAnOpenClDevice() {
        try {
            opencl = Target.parse("opencl");
        } catch (TargetException e) {
            org.junit.jupiter.api.Assumptions.abort("no OpenCL device here (" + e.getMessage() + ")");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "mobilenetv2", "resnet18", "bert"})
    void outputsMatchOnnxRuntime(String model) {
        var lib = Compiler.compile("zoo:" + model, dir.resolve(model + ".so"), new Compiler.Options(opencl, Map.of(), null, false));
        try (KilnLibrary kiln = new KilnLibrary(lib.library(), 1);
             OrtModel ort = new OrtModel(Zoo.onnxBytes(model), 1)) {
            Map<String, Tensor> inputs = kiln.randomInputs(1);
            Map<String, Tensor> expected = ort.run(inputs);
            Map<String, Tensor> actual = kiln.run(inputs);
            assertEquals(expected.keySet(), actual.keySet(), "output names");
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(actual.get(e.getKey()), e.getValue(), 1e-4, 1e-3);
                assertTrue(c.ok(), model + " on " + opencl.name() + ", output " + e.getKey() + ": " + c.detail());
            }
        }
    }

    /**
     * The tuner's clock: with profiling on (as the runner's process sets it), a library reports
     * its kernels' device time for each run, which is positive and within the run's wall time; a
     * CPU library has no device clock.
     */
    @Test
    void profilingEventsGiveEachRunsKernelTime() {
        dev.kiln.autotune.runner.Measurer.enableDeviceProfiling();
        var lib = Compiler.compile("zoo:mlp", dir.resolve("mlp.so"), new Compiler.Options(opencl, Map.of(), null, false)).library();
        var cpu = Compiler.compile("zoo:mlp", dir.resolve("mlp-cpu.so"), new Compiler.Options(Target.host(), Map.of(), null, false)).library();
        try (var model = dev.kiln.targets.cpu.NativeModel.load(lib); var session = model.createSession(1);
             var cpuModel = dev.kiln.targets.cpu.NativeModel.load(cpu); var cpuSession = cpuModel.createSession(1);
             var arena = java.lang.foreign.Arena.ofConfined()) {
            var in = model.inputs().stream().map(i -> arena.allocate(i.bytes(), 64)).toArray(java.lang.foreign.MemorySegment[]::new);
            var out = model.outputs().stream().map(o -> arena.allocate(o.bytes(), 64)).toArray(java.lang.foreign.MemorySegment[]::new);
            assertTrue(session.deviceMillis().isEmpty(), "no run yet, no device time");
            for (int i = 0; i < 3; i++) {
                long t0 = System.nanoTime();
                session.run(in, out);
                double wallMs = (System.nanoTime() - t0) / 1e6;
                double deviceMs = session.deviceMillis().orElseThrow();
                assertTrue(deviceMs > 0 && deviceMs <= wallMs, "device " + deviceMs + " ms, wall " + wallMs + " ms");
            }
            cpuSession.run(in, out);
            assertTrue(cpuSession.deviceMillis().isEmpty(), "a CPU library has no device clock");
        }
    }

    /**
     * A library for a GPU profile (Intel Xe: float1 vectors, so its matmuls stage tiles in local
     * memory between barriers) is OpenCL C, so it runs on this machine's device too: bert's
     * attention matmuls with cooperative loads give ONNX Runtime's outputs on PoCL.
     */
    @Test
    void sharedMemoryStagingRunsCorrectlyOnTheDevice() throws Exception {
        Path dump = dir.resolve("xe-dump");
        var lib = Compiler.compile("zoo:bert", dir.resolve("bert-xe.so"), new Compiler.Options(Target.parse("opencl:intel-xe"), Map.of(), dump, false));
        String cl = java.nio.file.Files.readString(dump.resolve("kernels.cl"));
        assertTrue(cl.contains("barrier(CLK_LOCAL_MEM_FENCE)") && cl.contains("__local float"), "the kernels stage tiles in local memory");
        try (KilnLibrary kiln = new KilnLibrary(lib.library(), 1); OrtModel ort = new OrtModel(Zoo.onnxBytes("bert"), 1)) {
            Map<String, Tensor> inputs = kiln.randomInputs(3);
            Map<String, Tensor> expected = ort.run(inputs);
            Map<String, Tensor> actual = kiln.run(inputs);
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(actual.get(e.getKey()), e.getValue(), 1e-4, 1e-3);
                assertTrue(c.ok(), "bert for opencl:intel-xe on " + opencl.name() + ", output " + e.getKey() + ": " + c.detail());
            }
        }
    }

    /**
     * The Mali profile is a GPU on an aarch64 board: its library's host code is aarch64 (ELF
     * machine 183), and its program, run under qemu where no aarch64 OpenCL driver exists, fails
     * at kiln_model_create saying what to install.
     */
    @Test
    void armGpuProfilesBuildAarch64HostCode() throws Exception {
        assumeTrue(java.nio.file.Files.isDirectory(Path.of("/usr/aarch64-linux-gnu/lib")) && Exec.onPath("aarch64-linux-gnu-gcc"),
                "needs the aarch64 cross toolchain (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross)");
        Target mali = Target.parse("opencl:mali-g610");
        Path so = Compiler.compile("zoo:mlp", dir.resolve("mlp-mali.so"), new Compiler.Options(mali, Map.of(), null, false)).library();
        byte[] head = java.nio.file.Files.readAllBytes(so);
        assertEquals(183, (head[18] & 0xff) | (head[19] & 0xff) << 8, "ELF e_machine of " + so + " (183 is AArch64)");
        Path exe = Compiler.compile("zoo:mlp", dir.resolve("mlp-mali"), new Compiler.Options(mali, Map.of(), null, false,
                dev.kiln.schedules.space.ConfigSource.DEFAULTS, dev.kiln.codegen.Packaging.EXECUTABLE, null)).library();
        var qemu = dev.kiln.targets.cpu.ProgramRuntime.qemuPath();
        assumeTrue(qemu.isPresent(), "qemu-aarch64 is not installed (Debian package qemu-user)");
        Exec.Result r = Exec.run(List.of(qemu.get().toString(), "-L", "/usr/aarch64-linux-gnu", exe.toString()), 120);
        assertEquals(1, r.code(), r.both());
        assertTrue(r.both().contains("cannot open the OpenCL ICD loader libOpenCL.so.1"), r.both());
    }

    /**
     * No ICD loader: the library still loads (it links nothing of OpenCL), and kiln_model_create
     * fails saying what to install. The loader is hidden with a bind mount of /dev/null in a
     * private mount namespace (needs root and unshare; skipped otherwise).
     */
    @Test
    void aMissingIcdLoaderIsAClearErrorFromTheCAbi() throws Exception {
        Path loader = Path.of("/usr/lib/x86_64-linux-gnu/libOpenCL.so.1");
        assumeTrue(java.nio.file.Files.exists(loader) && Exec.onPath("unshare") && Exec.onPath("mount")
                && "root".equals(System.getProperty("user.name")), "needs root, unshare and the Debian ICD loader path");
        Path exe = Compiler.compile("zoo:mlp", dir.resolve("mlp"), new Compiler.Options(opencl, Map.of(), null, false,
                dev.kiln.schedules.space.ConfigSource.DEFAULTS, dev.kiln.codegen.Packaging.EXECUTABLE, null)).library();
        Path real = loader.toRealPath();
        Exec.Result r = Exec.run(List.of("unshare", "-m", "sh", "-c", "mount --bind /dev/null '" + real + "' && exec '" + exe + "'"), 60);
        assumeTrue(!r.both().contains("mount:") && !r.both().contains("unshare:"), "cannot make a private mount namespace here: " + r.both());
        assertEquals(1, r.code(), r.both());
        assertTrue(r.both().contains("cannot open the OpenCL ICD loader libOpenCL.so.1") && r.both().contains("ocl-icd-libopencl1"), r.both());
    }

    /** A device that is not there: kiln_model_create returns NULL and kiln_model_last_error says why, through a program. */
    @Test
    void aMissingDeviceIsAClearErrorFromTheCAbi() throws Exception {
        Path exe = Compiler.compile("zoo:mlp", dir.resolve("mlp"), new Compiler.Options(opencl, Map.of(), null, false,
                dev.kiln.schedules.space.ConfigSource.DEFAULTS, dev.kiln.codegen.Packaging.EXECUTABLE, null)).library();
        ProcessBuilder pb = new ProcessBuilder(List.of(exe.toString(), "--output-dir", dir.resolve("out").toString()));
        pb.environment().put("KILN_OPENCL_DEVICE", "99");
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(1, p.waitFor(), out);
        assertTrue(out.contains("kiln_model_create") && out.contains("KILN_OPENCL_DEVICE=99") && out.contains("OpenCL device"), out);
        assertTrue(!dir.resolve("out").resolve("output.npy").toFile().exists(), "nothing should be written");
    }
}
