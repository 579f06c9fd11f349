package dev.kiln.irlow.stmt;

/** How a loop runs. */
public enum ForKind {
    SERIAL, PARALLEL, VECTORIZED, UNROLLED,
    GPU_BLOCK_X, GPU_BLOCK_Y, GPU_BLOCK_Z, GPU_THREAD_X, GPU_THREAD_Y, GPU_THREAD_Z
}
