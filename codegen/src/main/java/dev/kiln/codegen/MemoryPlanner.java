package dev.kiln.codegen;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The static memory plan of the executor: places every intermediate buffer at an offset in one
 * workspace so that buffers live at the same time never share bytes, while buffers whose live
 * ranges are disjoint reuse the same memory.
 *
 * <p>Greedy by size with best fit, as in TVM's USMP {@code greedy_by_size} (after Pisarchyk &amp;
 * Lee, "Efficient Memory Management for Deep Neural Net Inference"): take buffers largest first;
 * put each in the smallest gap between the already placed buffers it is live with, or after
 * them all if no gap fits.
 */
public final class MemoryPlanner {
    /** Offsets and sizes are multiples of this, so every buffer can hold aligned vector loads. */
    public static final long ALIGN = 64;

    private MemoryPlanner() {}

    /** A buffer, live from kernel call {@code firstUse} to {@code lastUse} inclusive. */
    public record Interval(String name, long bytes, int firstUse, int lastUse) {
        public Interval {
            if (bytes < 0) throw new IllegalArgumentException("buffer " + name + " has negative size " + bytes);
            if (firstUse > lastUse) {
                throw new IllegalArgumentException("buffer " + name + " is used first at " + firstUse + " after its last use " + lastUse);
            }
        }

        boolean liveWith(Interval o) {
            return firstUse <= o.lastUse && o.firstUse <= lastUse;
        }
    }

    /** Byte offset of each buffer in the workspace, and the workspace size (a multiple of 64). */
    public record Plan(Map<String, Long> offsets, long totalBytes) {
        public Plan {
            offsets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(offsets));
        }

        public long offset(String name) {
            Long o = offsets.get(name);
            if (o == null) throw new IllegalArgumentException("no buffer named " + name + " in the memory plan");
            return o;
        }
    }

    public static long alignUp(long bytes) {
        return Math.ceilDiv(bytes, ALIGN) * ALIGN;
    }

    public static Plan plan(List<Interval> buffers) {
        Set<String> names = new HashSet<>();
        for (Interval b : buffers) {
            if (!names.add(b.name())) throw new IllegalArgumentException("buffer " + b.name() + " appears twice in the memory plan");
        }
        // Largest first; ties broken by live range then name so the plan is deterministic.
        List<Interval> order = new ArrayList<>(buffers);
        order.sort(Comparator.comparingLong(Interval::bytes).reversed()
                .thenComparingInt(Interval::firstUse).thenComparingInt(Interval::lastUse).thenComparing(Interval::name));

        record Placed(Interval buffer, long offset, long end) {}
        List<Placed> placed = new ArrayList<>();
        Map<String, Long> offsets = new LinkedHashMap<>();
        long total = 0;
        for (Interval b : order) {
            long size = alignUp(b.bytes());
            List<Placed> conflicts = new ArrayList<>();
            for (Placed p : placed) if (p.buffer().liveWith(b)) conflicts.add(p);
            conflicts.sort(Comparator.comparingLong(Placed::offset));

            long best = -1;
            long bestGap = Long.MAX_VALUE;
            long cursor = 0;
            for (Placed p : conflicts) {
                long gap = p.offset() - cursor;
                if (gap >= size && gap < bestGap) {
                    best = cursor;
                    bestGap = gap;
                }
                cursor = Math.max(cursor, p.end());
            }
            long offset = best >= 0 ? best : cursor;
            placed.add(new Placed(b, offset, offset + size));
            offsets.put(b.name(), offset);
            total = Math.max(total, offset + size);
        }
        // Report offsets in the caller's order.
        Map<String, Long> ordered = new LinkedHashMap<>();
        for (Interval b : buffers) ordered.put(b.name(), offsets.get(b.name()));
        return new Plan(ordered, total);
    }
}
