package dev.kiln.targets;

/**
 * A GPU Kiln compiles for: the API its kernels are written for, the LLVM triple and architecture
 * (for PTX), and the limits GPU templates size their work-groups by. The OpenCL and CUDA backends
 * that consume it are separate issues; the data lives here so templates can already ask it.
 */
public record GpuTarget(String name, Api api, String triple, String cpu, String features, int maxThreadsPerBlock,
                        long sharedMemoryBytes, int warpSize, int computeUnits) implements Target {
    /** How kernels reach the device. */
    public enum Api { CUDA, OPENCL }

    public GpuTarget {
        if (maxThreadsPerBlock < 1 || sharedMemoryBytes < 0 || warpSize < 1 || computeUnits < 1) {
            throw new IllegalArgumentException("GPU limits of " + name + ": threads " + maxThreadsPerBlock + ", shared "
                    + sharedMemoryBytes + ", warp " + warpSize + ", units " + computeUnits);
        }
    }

    @Override
    public int cores() {
        return computeUnits;
    }

    /** GPU code runs through a driver, never in-process as a CPU library. */
    @Override
    public boolean canRunOnHost() {
        return false;
    }
}
