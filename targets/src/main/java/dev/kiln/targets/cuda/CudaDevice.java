package dev.kiln.targets.cuda;

/**
 * A CUDA GPU of this machine as the driver reports it: compute capability, multiprocessors,
 * threads per block, shared memory per block, warp size, memory and clock.
 */
public record CudaDevice(int index, String name, int major, int minor, int multiprocessors, int maxThreadsPerBlock,
                         long sharedMemoryPerBlock, int warpSize, long memoryBytes, int clockKhz) {
    /** {@code sm_90} for compute capability 9.0. */
    public String arch() {
        return "sm_" + major + minor;
    }
}
