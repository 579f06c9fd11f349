package dev.kiln.autotune.tuner;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * The indices {@code 0..size-1} in a seeded random order, each exactly once, drawn lazily
 * (a Fisher-Yates shuffle that stores only the positions it has swapped), so spaces far too
 * large to list are fine and a small space is exhausted exactly.
 */
final class RandomOrder {
    private final long size;
    private final Random rng;
    private final Map<Long, Long> swapped = new HashMap<>();
    private long drawn;

    RandomOrder(long size, Random rng) {
        this.size = size;
        this.rng = rng;
    }

    boolean hasNext() {
        return drawn < size;
    }

    /** The next index; call only while {@link #hasNext()}. */
    long next() {
        long j = drawn + rng.nextLong(size - drawn);
        long picked = swapped.getOrDefault(j, j);
        swapped.put(j, swapped.getOrDefault(drawn, drawn));
        swapped.remove(drawn);
        drawn++;
        return picked;
    }
}
