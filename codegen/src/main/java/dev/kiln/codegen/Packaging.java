package dev.kiln.codegen;

/** What {@code kiln compile} writes: a shared library and its C header, or a standalone program. */
public enum Packaging {
    /** {@code OUT.so} with the C ABI, and {@code OUT.h} beside it. */
    LIBRARY,
    /** A program linked against the target's shared C library. */
    EXECUTABLE,
    /** A program with everything linked in: runs on any machine of the architecture, or under qemu without -L. */
    STATIC_EXECUTABLE;

    public boolean isExecutable() {
        return this != LIBRARY;
    }
}
