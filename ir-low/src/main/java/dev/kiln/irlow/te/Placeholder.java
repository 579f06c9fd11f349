package dev.kiln.irlow.te;

import dev.kiln.irlow.ScalarType;
import java.util.List;

/** A kernel input tensor. */
public record Placeholder(String name, ScalarType dtype, List<Long> shape) implements Operation {
    public Placeholder {
        shape = List.copyOf(shape);
    }
}
