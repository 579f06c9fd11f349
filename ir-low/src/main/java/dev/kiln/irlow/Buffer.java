package dev.kiln.irlow;

/**
 * A flat memory region of {@code size} elements of {@code dtype}. Kernel parameters are
 * buffers; {@code Allocate} introduces local ones. Buffers are identified by name, which must
 * be unique within a function. Parameters never alias each other.
 */
public record Buffer(String name, ScalarType dtype, long size) {
    @Override
    public String toString() {
        return name;
    }
}
