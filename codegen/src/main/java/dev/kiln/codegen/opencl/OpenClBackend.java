package dev.kiln.codegen.opencl;

import dev.kiln.codegen.Backend;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.Packaging;
import dev.kiln.codegen.Toolchain;
import dev.kiln.codegen.device.DeviceLibrary;
import dev.kiln.targets.GpuTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;


/**
 * The OpenCL backend: kernels printed as OpenCL C ({@link OpenClPrinter}), packaged by {@link
 * DeviceLibrary} with the executor {@code opencl/kiln_opencl.c}, which opens the ICD loader at
 * {@code kiln_model_create}, builds the embedded program once per handle, keeps the weights in
 * device buffers and runs the kernels in order on one in-order queue. The host code
 * is built by the C compiler of the CPU the target's library runs on ({@link
 * dev.kiln.targets.opencl.OpenClTargets#hostCpu}: this machine's, or aarch64-linux-gnu-gcc against
 * the aarch64 sysroot for the Mali and Adreno profiles).
 */
public final class OpenClBackend implements Backend {
    private final GpuTarget target;
    private final Toolchain host;

    public OpenClBackend(GpuTarget target, Path sysroot) {
        if (target.api() != GpuTarget.Api.OPENCL) throw new IllegalArgumentException("not an OpenCL target: " + target);
        this.target = target;
        this.host = Toolchain.of(dev.kiln.targets.opencl.OpenClTargets.hostCpu(target), sysroot);
    }

    @Override
    public GpuTarget target() {
        return target;
    }

    @Override
    public String headerExtras() {
        return DeviceLibrary.deviceMsDeclaration("KILN_OPENCL_PROFILE", "OpenCL profiling events");
    }

    @Override
    public Emitted emit(ModuleSpec spec, Path dumpDir) {
        String program = OpenClPrinter.program(spec.kernels());
        if (dumpDir != null) {
            try {
                Files.createDirectories(dumpDir);
                Files.writeString(dumpDir.resolve("kernels.cl"), program);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new Emitted(program.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void pack(Emitted module, ModuleSpec spec, Packaging packaging, Path out, String finalName) {
        String program = new String(module.bytes(), StandardCharsets.UTF_8);
        DeviceLibrary.pack(host, "OpenCL", "opencl/kiln_opencl.c", DeviceLibrary.plan(spec, OpenClPrinter.kernelNames(spec.kernels()), "opencl"),
                program, spec, packaging, out, finalName);
    }
}
