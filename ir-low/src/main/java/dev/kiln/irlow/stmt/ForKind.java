package dev.kiln.irlow.stmt;

/** How a loop runs. */
public enum ForKind {
    SERIAL, PARALLEL, VECTORIZED, UNROLLED,
    GPU_BLOCK_X, GPU_BLOCK_Y, GPU_BLOCK_Z, GPU_THREAD_X, GPU_THREAD_Y, GPU_THREAD_Z;

    /** Bound to a GPU block or thread index: the loop is part of the launch shape, not code that iterates. */
    public boolean isGpu() {
        return isGpuBlock() || isGpuThread();
    }

    /** Bound to blockIdx (CUDA) / get_group_id (OpenCL). */
    public boolean isGpuBlock() {
        return this == GPU_BLOCK_X || this == GPU_BLOCK_Y || this == GPU_BLOCK_Z;
    }

    /** Bound to threadIdx (CUDA) / get_local_id (OpenCL). */
    public boolean isGpuThread() {
        return this == GPU_THREAD_X || this == GPU_THREAD_Y || this == GPU_THREAD_Z;
    }
}
