package dev.kiln.irlow;

import java.util.Objects;

/**
 * A flat memory region of {@code size} elements of {@code dtype} in a memory {@code scope}.
 * Kernel parameters are buffers; {@code Allocate} introduces local ones. Buffers are identified
 * by name, which must be unique within a function. Parameters never alias each other.
 *
 * <p>The scope takes part in equality: a shared tile and a global buffer of the same name and
 * shape are different memory, and a pass that rebuilds a buffer must carry its scope over.
 */
public record Buffer(String name, ScalarType dtype, long size, MemoryScope scope) {
    public Buffer {
        Objects.requireNonNull(scope, "scope");
    }

    /** A {@link MemoryScope#GLOBAL} buffer: what every CPU kernel and every kernel parameter uses. */
    public Buffer(String name, ScalarType dtype, long size) {
        this(name, dtype, size, MemoryScope.GLOBAL);
    }

    public Buffer withScope(MemoryScope newScope) {
        return new Buffer(name, dtype, size, newScope);
    }

    @Override
    public String toString() {
        return name;
    }
}
