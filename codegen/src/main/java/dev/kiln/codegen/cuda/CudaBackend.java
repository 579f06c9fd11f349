package dev.kiln.codegen.cuda;

import dev.kiln.codegen.Backend;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.Packaging;
import dev.kiln.codegen.Toolchain;
import dev.kiln.codegen.device.DeviceLibrary;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.GpuTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The CUDA backend: kernels through LLVM's NVPTX backend into one PTX module (thread and block
 * indices from the special registers, shared memory in address space 3, {@code bar.sync},
 * libdevice for the math LLVM cannot lower), published beside the output as {@code OUT.ptx} and
 * embedded in a library with the C ABI of every target, packaged by {@link DeviceLibrary} with the
 * executor {@code cuda/kiln_cuda.c}: it opens the driver ({@code libcuda.so.1}) at {@code
 * kiln_model_create}, JIT-compiles the PTX for the GPU, and runs the kernels on one stream per
 * handle. The host code is built for this machine.
 */
public final class CudaBackend implements Backend {
    private final GpuTarget target;
    private final Toolchain host;

    public CudaBackend(GpuTarget target, Path sysroot) {
        if (target.api() != GpuTarget.Api.CUDA) throw new IllegalArgumentException("not a CUDA target: " + target);
        this.target = target;
        this.host = Toolchain.of(CpuTarget.host(), sysroot);
    }

    @Override
    public GpuTarget target() {
        return target;
    }

    @Override
    public String headerExtras() {
        return """
                /*
                 * Runs the model on tensors already on the GPU: inputs[i] and outputs[i] are device pointers
                 * (CUdeviceptr values cast to void *, 16-byte aligned, as cuMemAlloc gives) on the GPU the
                 * handle uses (KILN_CUDA_DEVICE, default 0). Returns 0 once the outputs are written; nonzero
                 * with a message in kiln_model_last_error() otherwise.
                 */
                int kiln_model_run_device(KilnModel *model, const void *const *inputs, void *const *outputs);

                """ + DeviceLibrary.deviceMsDeclaration("KILN_CUDA_PROFILE", "CUDA events");
    }

    @Override
    public Emitted emit(ModuleSpec spec, Path dumpDir) {
        List<String> names = kernelNames(spec.kernels());
        try (LlvmModule m = new LlvmModule(spec.name(), target)) {
            for (int k = 0; k < names.size(); k++) {
                PrimFunc f = spec.kernels().get(k);
                m.addKernel(new PrimFunc(names.get(k), f.params(), f.body()));
            }
            m.linkLibdevice();
            m.optimize();
            String ptx = m.emitAssembly();
            if (dumpDir != null) {
                try {
                    Files.createDirectories(dumpDir);
                    Files.writeString(dumpDir.resolve("kernels.ll"), m.printIr());
                    Files.writeString(dumpDir.resolve("kernels.ptx"), ptx);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            byte[] bytes = ptx.getBytes(StandardCharsets.UTF_8);
            return new Emitted(bytes, Map.of(".ptx", bytes));
        }
    }

    @Override
    public void pack(Emitted module, ModuleSpec spec, Packaging packaging, Path out, String finalName) {
        DeviceLibrary.pack(host, "CUDA", "cuda/kiln_cuda.c", DeviceLibrary.plan(spec, kernelNames(spec.kernels()), target.cpu()),
                new String(module.bytes(), StandardCharsets.UTF_8), spec, packaging, out, finalName);
    }

    /** PTX entry names for the kernels: letters, digits and '_' only (NVPTX would rename others), unique. */
    static List<String> kernelNames(List<PrimFunc> kernels) {
        Set<String> used = new HashSet<>();
        List<String> out = new ArrayList<>();
        for (PrimFunc f : kernels) {
            String base = f.name().replaceAll("[^A-Za-z0-9_]", "_");
            if (base.isEmpty() || !Character.isLetter(base.charAt(0))) base = "k_" + base;
            String name = base;
            for (int i = 1; !used.add(name); i++) name = base + "_" + i;
            out.add(name);
        }
        return out;
    }
}
