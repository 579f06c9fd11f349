package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * What the native int8 and bf16 kernels share: the constants they derive from a weight at compile time
 * (kept in the graph under names that say how the weight is packed), and the split of an extent into
 * whole blocks and a tail.
 */
final class Packed {
    private Packed() {}

    /** Name markers of weights packed into int32 words (int8: four bytes to a word; bf16: two values), each followed by digits or nothing. */
    static final String INT8_MATMUL = "__int8x", INT8_CONV = "__int8conv", BF16_MATMUL = "__bf16x", BF16_CONV = "__bf16conv";

    /** Whether a constant holds int8 weights packed four to an int32 word. */
    static boolean isInt8(String constant) {
        return marked(constant, INT8_MATMUL) || marked(constant, INT8_CONV);
    }

    /** Whether a constant holds bf16 weights packed two to an int32 word. */
    static boolean isBf16(String constant) {
        return marked(constant, BF16_MATMUL) || marked(constant, BF16_CONV);
    }

    private static boolean marked(String constant, String marker) {
        int at = constant.lastIndexOf(marker);
        return at >= 0 && constant.substring(at + marker.length()).chars().allMatch(Character::isDigit);
    }

    /** Stores a derived constant in the graph (kept when there: nodes sharing a weight share it); returns its name. */
    static String constant(Graph g, Node n, String name, Tensor t) {
        Tensor prev = g.initializers().putIfAbsent(name, t);
        if (prev != null && !prev.shape().equals(t.shape()))
            throw new IllegalStateException(n.describe() + ": derived constant " + name + " exists with shape " + prev.shape());
        return name;
    }

    /** A run of {@code count} blocks of {@code size} starting at {@code start}. */
    record Segment(long start, long count, long size) {}

    /** {@code extent} as whole blocks of {@code size}, then the tail (a block of its own). */
    static List<Segment> segments(long extent, long size) {
        List<Segment> r = new ArrayList<>();
        if (extent / size > 0) r.add(new Segment(0, extent / size, size));
        if (extent % size != 0) r.add(new Segment(extent / size * size, 1, extent % size));
        return r;
    }
}
