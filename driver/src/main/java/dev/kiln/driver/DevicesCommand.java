package dev.kiln.driver;

import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.TargetException;
import dev.kiln.targets.cpu.ProgramRuntime;
import dev.kiln.targets.cuda.CudaDevice;
import dev.kiln.targets.cuda.CudaDevices;
import dev.kiln.targets.cuda.CudaTargets;
import dev.kiln.codegen.cuda.Ptxas;
import dev.kiln.targets.opencl.OpenClDevice;
import dev.kiln.targets.opencl.OpenClDevices;
import dev.kiln.targets.opencl.OpenClTargets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List what this machine can compile for and run on: the CPU, every OpenCL device and every CUDA GPU, with their limits and --target names.")
final class DevicesCommand implements Callable<Integer> {
    @Option(names = {"-v", "--verbose"}, description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() {
        System.out.println("CPU");
        try {
            CpuTarget host = CpuTarget.host();
            System.out.printf("  %-28s %d cores, %d-bit vectors x %d registers, L1d %d KiB, L2 %d KiB%n", host.name(), host.cores(),
                    host.vectorBits(), host.vectorRegisters(), host.caches().l1d() / 1024, host.caches().l2() / 1024);
        } catch (TargetException e) {
            System.out.println("  (no Kiln target fits: " + e.getMessage() + ")");
        }
        System.out.println("  aarch64-neon[:CPU]           cross-compiled; runs here " + (ProgramRuntime.qemuPath().isPresent()
                ? "under qemu-aarch64 (emulated)" : "only with qemu-user installed"));
        System.out.println("OpenCL");
        try {
            List<OpenClDevice> devices = OpenClDevices.list();
            for (int i = 0; i < devices.size(); i++) {
                OpenClDevice d = devices.get(i);
                GpuTarget t = OpenClTargets.of(d);
                System.out.printf("  %-28s %s (%s, %s, %s)%n", i == 0 ? "opencl, " + t.name() : t.name(), d.name(), d.type(), d.platform(), d.version());
                System.out.printf("  %-28s work-group %d, local memory %d KiB, compute units %d, float vector %d, global memory %.1f GiB%s%n", "",
                        d.maxWorkGroupSize(), d.localMemBytes() / 1024, d.computeUnits(), d.preferredFloatVectorWidth(),
                        d.globalMemBytes() / (1024.0 * 1024 * 1024), d.fp64() ? ", fp64" : "");
            }
        } catch (TargetException e) {
            System.out.println("  none: " + e.getMessage());
        }
        System.out.println("  profiles for devices not here: " + String.join(", ", OpenClTargets.profileNames().stream().map(p -> "opencl:" + p).toList()));
        System.out.println("CUDA");
        try {
            List<CudaDevice> gpus = CudaDevices.list();
            for (CudaDevice d : gpus) {
                GpuTarget t = CudaTargets.of(d);
                System.out.printf("  %-28s %s (%s, GPU %d)%n", d.index() == 0 ? "cuda, " + t.name() : t.name(), d.name(), d.arch(), d.index());
                System.out.printf("  %-28s threads per block %d, shared memory %d KiB, multiprocessors %d, warp %d, memory %.1f GiB, clock %d MHz%n",
                        "", d.maxThreadsPerBlock(), d.sharedMemoryPerBlock() / 1024, d.multiprocessors(), d.warpSize(),
                        d.memoryBytes() / (1024.0 * 1024 * 1024), d.clockKhz() / 1000);
            }
        } catch (TargetException e) {
            System.out.println("  none: " + e.getMessage());
        }
        System.out.println("  architectures to compile for anywhere: " + String.join(", ", CudaTargets.names())
                + (Ptxas.find().isPresent() ? " (ptxas is here to check their PTX)" : ""));
        return 0;
    }
}
