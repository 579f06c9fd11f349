package dev.kiln.autotune.tune;

import dev.kiln.autotune.db.Provenance;
import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.Target;
import dev.kiln.targets.cuda.CudaDevice;
import dev.kiln.targets.cuda.CudaDevices;
import dev.kiln.targets.opencl.OpenClDevice;
import dev.kiln.targets.opencl.OpenClDevices;

/** The provenance of a tune run's records: this Kiln's LLVM, the measuring device, its features, the trial budget. */
public final class RunProvenance {
    private RunProvenance() {}

    /**
     * The provenance of records measured for {@code target} on the device {@code info} describes,
     * in a run of {@code trials} trials. A CPU is its model as the runner reports it; a GPU its name
     * and version as the local driver reports them (GPU runs measure here), or the target's name
     * where no driver answers.
     */
    public static Provenance of(Target target, DeviceInfo info, long trials) {
        String device = info.getCpuModel();
        String features = target.features();
        if (target instanceof GpuTarget g) {
            device = gpuName(g);
            features = g.cpu() + (g.features().isEmpty() ? "" : " " + g.features());
        }
        return new Provenance(LlvmModule.llvmVersion(), device, features, trials);
    }

    private static String gpuName(GpuTarget g) {
        try {
            if (g.api() == GpuTarget.Api.CUDA && CudaDevices.present()) {
                for (CudaDevice d : CudaDevices.list())
                    if (d.arch().equals(g.cpu())) return d.name() + " (" + d.arch() + ")";
            } else if (g.api() == GpuTarget.Api.OPENCL) {
                for (OpenClDevice d : OpenClDevices.list())
                    if (g.name().endsWith(d.slug()) || OpenClDevices.list().size() == 1)
                        return d.name() + " (" + d.platform() + ", " + d.version() + ")";
            }
        } catch (RuntimeException e) {
            // No driver to ask: the target's name is all there is to say.
        }
        return g.name();
    }
}
