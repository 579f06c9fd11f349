package dev.kiln.irhigh;

/** A named tensor value of the graph with its element type and static shape. */
public record Value(String name, DType dtype, Shape shape) {
    @Override
    public String toString() {
        return name + ":" + dtype.numpyName + shape;
    }
}
