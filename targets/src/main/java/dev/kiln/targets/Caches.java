package dev.kiln.targets;

/** Data cache sizes in bytes of one core (L1D, L2) and the whole chip (L3, 0 when there is none). */
public record Caches(long l1d, long l2, long l3) {
    public Caches {
        if (l1d <= 0 || l2 <= 0 || l3 < 0) throw new IllegalArgumentException("cache sizes: " + l1d + ", " + l2 + ", " + l3);
    }

    static final long KIB = 1024, MIB = 1024 * 1024;
}
