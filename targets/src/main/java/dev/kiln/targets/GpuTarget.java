package dev.kiln.targets;

/**
 * A GPU Kiln compiles for: the API its kernels are written for, the triple (for PTX the device's
 * LLVM triple; for OpenCL, which ships OpenCL C source, the host the library's executor runs on,
 * empty for this machine: aarch64 for the Mali and Adreno profiles), the architecture, and the limits GPU templates size
 * their work-groups by: threads per block (work-group), shared (local) memory, warp (sub-group)
 * size, compute units and the preferred float vector width.
 */
public record GpuTarget(String name, Api api, String triple, String cpu, String features, int maxThreadsPerBlock,
                        long sharedMemoryBytes, int warpSize, int computeUnits, int vectorWidth) implements Target {
    /** How kernels reach the device. */
    public enum Api { CUDA, OPENCL }

    public GpuTarget {
        if (maxThreadsPerBlock < 1 || sharedMemoryBytes < 0 || warpSize < 1 || computeUnits < 1 || vectorWidth < 1) {
            throw new IllegalArgumentException("GPU limits of " + name + ": threads " + maxThreadsPerBlock + ", shared "
                    + sharedMemoryBytes + ", warp " + warpSize + ", units " + computeUnits + ", vector width " + vectorWidth);
        }
    }

    /** A device whose preferred float vector width is 4 (float4 loads and stores). */
    public GpuTarget(String name, Api api, String triple, String cpu, String features, int maxThreadsPerBlock,
                     long sharedMemoryBytes, int warpSize, int computeUnits) {
        this(name, api, triple, cpu, features, maxThreadsPerBlock, sharedMemoryBytes, warpSize, computeUnits, 4);
    }

    @Override
    public int cores() {
        return computeUnits;
    }

    /**
     * Whether this machine has the device (a GPU library is a host library that drives the
     * device, so it loads in-process): an OpenCL target named after one of its devices, or a CUDA
     * architecture one of its GPUs runs. Profiles of devices that are not here cannot.
     */
    @Override
    public boolean canRunOnHost() {
        return switch (api) {
            case OPENCL -> dev.kiln.targets.opencl.OpenClTargets.isLocal(name);
            case CUDA -> dev.kiln.targets.cuda.CudaDevices.present() && dev.kiln.targets.cuda.CudaDevices.list().stream()
                    .anyMatch(d -> d.major() * 10 + d.minor() >= dev.kiln.targets.cuda.CudaTargets.arch(this));
        };
    }
}
