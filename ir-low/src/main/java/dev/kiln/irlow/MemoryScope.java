package dev.kiln.irlow;

/**
 * Where a buffer lives, in the terms GPU backends need (TVM calls it a buffer's storage scope).
 * The CPU backend knows only {@link #GLOBAL}; it refuses the others rather than silently turning
 * per-block or per-thread memory into memory every thread shares.
 */
public enum MemoryScope {
    /** Device (or host) memory visible to every thread of a launch: kernel parameters, heap and stack on a CPU. */
    GLOBAL,
    /** CUDA {@code __shared__} / OpenCL {@code __local} memory: one copy per thread block (work-group), shared by its threads. */
    SHARED,
    /** Private to one thread: registers or CUDA local / OpenCL {@code __private} memory. */
    REGISTER
}
