package dev.kiln.irlow.te;

import dev.kiln.irlow.ScalarType;
import java.util.List;

/** A tensor of a tensor expression: a placeholder (kernel input) or a compute. */
public sealed interface Operation permits Placeholder, Compute {
    String name();

    ScalarType dtype();

    List<Long> shape();

    default long numel() {
        long n = 1;
        for (long d : shape()) n *= d;
        return n;
    }
}
