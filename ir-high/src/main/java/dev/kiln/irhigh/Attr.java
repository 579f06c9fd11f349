package dev.kiln.irhigh;

import java.util.List;

/** A typed node attribute, as in ONNX. */
public sealed interface Attr {
    record Int(long value) implements Attr {}

    record Float(float value) implements Attr {}

    record Str(String value) implements Attr {}

    record Ints(long[] values) implements Attr {}

    record Floats(float[] values) implements Attr {}

    record Strs(List<String> values) implements Attr {}

    record TensorAttr(Tensor value) implements Attr {}

    /** A subgraph attribute (If/Loop/Scan bodies). */
    record GraphAttr(Graph value) implements Attr {}
}
