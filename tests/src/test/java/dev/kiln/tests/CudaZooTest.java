package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.codegen.Packaging;
import dev.kiln.codegen.cuda.Ptxas;
import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import dev.kiln.targets.cuda.CudaDevices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CUDA without a GPU (CI and most machines): every zoo model compiles for cuda-sm80 and
 * cuda-sm90 into a library, a header with the CUDA entry points and OUT.ptx, which ptxas accepts
 * for its architecture; the schedules Kiln picks for an NVIDIA GPU compute the right outputs
 * (checked by running them as OpenCL C on this machine's OpenCL device); and a library or program
 * run where there is no driver says so from the C ABI. On a GPU machine scripts/gpu-check runs
 * the libraries themselves.
 */
class CudaZooTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "mobilenetv2", "resnet18", "bert"})
    void zooModelsAssembleForSm80AndSm90(String model) throws Exception {
        Path ptxas = Ptxas.find().orElse(null);
        assumeTrue(ptxas != null, "ptxas not found (the CUDA toolkit is not installed)");
        for (String arch : List.of("sm80", "sm90")) {
            var r = Compiler.compile("zoo:" + model, dir.resolve(arch + "/" + model + ".so"),
                    new Compiler.Options(Target.parse("cuda-" + arch), Map.of(), null, false));
            Path ptx = dir.resolve(arch + "/" + model + ".ptx");
            assertEquals(List.of(ptx), r.sidecars(), "OUT.ptx is written beside the library");
            String text = Files.readString(ptx);
            assertTrue(text.contains(".target sm_" + arch.substring(2)), "PTX for " + arch);
            // Every kernel the plan launches is an entry of the module.
            Matcher m = Pattern.compile("\\.visible \\.entry (\\w+)\\(").matcher(text);
            int entries = 0;
            while (m.find()) entries++;
            assertEquals(r.kernels(), entries, "one .entry per kernel call of " + model);
            assertTrue(Files.readString(r.header()).contains("int kiln_model_run_device(KilnModel *model"), "the header declares run_device");
            Ptxas.check(ptxas, ptx, "sm_" + arch.substring(2));
        }
    }

    /** Barriers, shared memory and vector loads appear where the templates ask for them (bert's attention stages tiles). */
    @Test
    void ptxUsesSharedMemoryBarriersAndVectorLoads() throws Exception {
        Path dump = dir.resolve("dump");
        Compiler.compile("zoo:bert", dir.resolve("bert.so"), new Compiler.Options(Target.parse("cuda-sm90"), Map.of(), dump, false));
        String ptx = Files.readString(dump.resolve("kernels.ptx"));
        assertTrue(ptx.contains(".shared .align 16") && ptx.contains("st.shared.") && ptx.contains("bar.sync"), "shared staging");
        assertTrue(ptx.contains("ld.global.nc.v4.f32") || ptx.contains("ld.global.v4.f32"), "vectorized global loads");
        assertTrue(ptx.contains("%tid.x") && ptx.contains("%ctaid.x"), "thread and block indices from the special registers");
        assertTrue(Files.readString(dump.resolve("kernels.ll")).contains("ptx_kernel"), "kernels use the PTX kernel calling convention");
    }

    /**
     * Math that NVPTX cannot lower (sin, atan2, f64 exp) comes from libdevice, linked in only when
     * called: the module assembles and keeps no undefined __nv_ function.
     */
    @Test
    void libdeviceProvidesTheMathLlvmCannotLower() throws Exception {
        Path ptxas = Ptxas.find().orElse(null);
        assumeTrue(ptxas != null, "ptxas not found (the CUDA toolkit is not installed)");
        Path onnx = dev.kiln.tests.conformance.ConformanceSuite.dataRoot().resolve("node/test_atan/model.onnx");
        assumeTrue(Files.exists(onnx), "ONNX backend test data not found (libonnx-testdata)");
        var r = Compiler.compile(onnx.toString(), dir.resolve("atan.so"), new Compiler.Options(Target.parse("cuda-sm80"), Map.of(), null, false));
        String ptx = Files.readString(r.sidecars().getFirst());
        assertTrue(!ptx.contains(".extern .func"), "no call is left to an undefined function:\n" + ptx);
        Ptxas.check(ptxas, r.sidecars().getFirst(), "sm_80");
    }

    /**
     * The schedules Kiln picks for an NVIDIA GPU (32-thread warps, float4 vectors, 48 KiB of
     * shared memory with staged matmul tiles, 132 multiprocessors), printed as OpenCL C and run on
     * this machine's OpenCL device, give ONNX Runtime's outputs: what the PTX computes is right
     * whenever NVPTX translates the loop IR faithfully.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mlp", "bert", "mobilenetv2"})
    void cudaSchedulesComputeTheRightOutputs(String model) {
        GpuTarget local;
        try {
            local = (GpuTarget) Target.parse("opencl");
        } catch (TargetException e) {
            org.junit.jupiter.api.Assumptions.abort("no OpenCL device here (" + e.getMessage() + ")");
            return;
        }
        GpuTarget sm90 = (GpuTarget) Target.parse("cuda-sm90");
        GpuTarget shaped = new GpuTarget(local.name(), GpuTarget.Api.OPENCL, local.triple(), local.cpu(), local.features(),
                sm90.maxThreadsPerBlock(), sm90.sharedMemoryBytes(), sm90.warpSize(), sm90.computeUnits(), sm90.vectorWidth());
        var lib = Compiler.compile("zoo:" + model, dir.resolve(model + ".so"), new Compiler.Options(shaped, Map.of(), null, false));
        try (KilnLibrary kiln = new KilnLibrary(lib.library(), 1); OrtModel ort = new OrtModel(Zoo.onnxBytes(model), 1)) {
            Map<String, Tensor> inputs = kiln.randomInputs(5);
            Map<String, Tensor> expected = ort.run(inputs);
            Map<String, Tensor> actual = kiln.run(inputs);
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(actual.get(e.getKey()), e.getValue(), 1e-4, 1e-3);
                assertTrue(c.ok(), model + " with cuda-sm90 schedules, output " + e.getKey() + ": " + c.detail());
            }
        }
    }

    /** No driver: the library loads (it links nothing of CUDA) and its program fails at kiln_model_create saying why. */
    @Test
    void withoutTheDriverTheCAbiSaysWhy() throws Exception {
        assumeTrue(!CudaDevices.driverPresent(), "this machine has the NVIDIA driver");
        Path exe = Compiler.compile("zoo:mlp", dir.resolve("mlp"), new Compiler.Options(Target.parse("cuda-sm90"), Map.of(), null, false,
                ConfigSource.DEFAULTS, Packaging.EXECUTABLE, null)).library();
        assertTrue(Files.exists(dir.resolve("mlp.ptx")), "--emit exe writes OUT.ptx too");
        Exec.Result r = Exec.run(List.of(exe.toString(), "--output-dir", dir.resolve("out").toString()), 60);
        assertEquals(1, r.code(), r.both());
        assertTrue(r.both().contains("kiln_model_create: cannot open the NVIDIA driver libcuda.so.1"), r.both());
        assertTrue(!Files.exists(dir.resolve("out/output.npy")), "nothing should be written");
    }

    /** A static CUDA program cannot exist (the driver is opened at run time): a clear error, nothing written. */
    @Test
    void aStaticCudaProgramIsRefused() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(TargetException.class, () -> Compiler.compile("zoo:mlp", dir.resolve("mlp"),
                new Compiler.Options(Target.parse("cuda-sm90"), Map.of(), null, false, ConfigSource.DEFAULTS, Packaging.STATIC_EXECUTABLE, null)));
        assertTrue(e.getMessage().contains("cannot be linked statically"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve("mlp")) && !Files.exists(dir.resolve("mlp.ptx")), "nothing is left behind");
    }
}
