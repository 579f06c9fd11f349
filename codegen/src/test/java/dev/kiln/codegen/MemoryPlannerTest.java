package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.codegen.MemoryPlanner.Interval;
import dev.kiln.codegen.MemoryPlanner.Plan;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MemoryPlannerTest {
    /** Independent check: every pair of buffers live at the same time occupies disjoint bytes. */
    static void assertValid(List<Interval> buffers, Plan plan) {
        for (Interval b : buffers) {
            long o = plan.offset(b.name());
            assertEquals(0, o % 64, b.name() + " offset not 64-byte aligned");
            assertTrue(o + b.bytes() <= plan.totalBytes(), b.name() + " ends past the workspace");
        }
        for (int i = 0; i < buffers.size(); i++) {
            for (int j = i + 1; j < buffers.size(); j++) {
                Interval a = buffers.get(i), c = buffers.get(j);
                boolean live = a.firstUse() <= c.lastUse() && c.firstUse() <= a.lastUse();
                if (!live || a.bytes() == 0 || c.bytes() == 0) continue;
                long ao = plan.offset(a.name()), co = plan.offset(c.name());
                boolean disjoint = ao + a.bytes() <= co || co + c.bytes() <= ao;
                assertTrue(disjoint, a + "@" + ao + " overlaps " + c + "@" + co);
            }
        }
    }

    @Test
    void randomIntervalSetsNeverOverlapWhileLive() {
        Random rnd = new Random(42);
        for (int trial = 0; trial < 500; trial++) {
            int n = 1 + rnd.nextInt(40);
            int calls = 1 + rnd.nextInt(30);
            List<Interval> bufs = new ArrayList<>();
            long sumAligned = 0;
            for (int i = 0; i < n; i++) {
                int first = rnd.nextInt(calls);
                int last = first + rnd.nextInt(Math.max(1, calls - first));
                long bytes = rnd.nextInt(4) == 0 ? 64L * (1 + rnd.nextInt(100)) : rnd.nextInt(10_000);
                bufs.add(new Interval("b" + i, bytes, first, last));
                sumAligned += MemoryPlanner.alignUp(bytes);
            }
            Plan plan = MemoryPlanner.plan(bufs);
            assertValid(bufs, plan);
            assertTrue(plan.totalBytes() <= sumAligned, "plan uses more than no reuse at all");
            assertEquals(0, plan.totalBytes() % 64);
        }
    }

    @Test
    void alignedSizesNeverExceedTheirSum() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            List<Interval> bufs = new ArrayList<>();
            long sum = 0;
            for (int i = 0; i < 20; i++) {
                int first = rnd.nextInt(10);
                long bytes = 64L * (1 + rnd.nextInt(50));
                bufs.add(new Interval("t" + i, bytes, first, first + rnd.nextInt(5)));
                sum += bytes;
            }
            Plan plan = MemoryPlanner.plan(bufs);
            assertValid(bufs, plan);
            assertTrue(plan.totalBytes() <= sum);
        }
    }

    @Test
    void chainReusesMemory() {
        // a -> b -> c -> d: each buffer only lives across two consecutive calls, so two slots suffice.
        List<Interval> bufs = List.of(new Interval("a", 1000, 0, 1), new Interval("b", 1000, 1, 2),
                new Interval("c", 1000, 2, 3), new Interval("d", 1000, 3, 4));
        Plan plan = MemoryPlanner.plan(bufs);
        assertValid(bufs, plan);
        assertEquals(2 * 1024, plan.totalBytes());
        assertEquals(plan.offset("a"), plan.offset("c"));
    }

    @Test
    void laterBuffersReuseAnEarlierLargeOne() {
        // "big" is dead after call 0, so the three later buffers all fit inside its bytes.
        List<Interval> bufs = List.of(new Interval("big", 1024, 0, 0), new Interval("x", 256, 1, 3),
                new Interval("y", 512, 1, 3), new Interval("small", 200, 2, 2));
        Plan plan = MemoryPlanner.plan(bufs);
        assertValid(bufs, plan);
        assertEquals(1024, plan.totalBytes());
    }

    @Test
    void rejectsDuplicatesAndBadRanges() {
        assertThrows(IllegalArgumentException.class,
                () -> MemoryPlanner.plan(List.of(new Interval("a", 1, 0, 0), new Interval("a", 1, 0, 0))));
        assertThrows(IllegalArgumentException.class, () -> new Interval("a", 1, 3, 2));
        assertEquals(0, MemoryPlanner.plan(List.of()).totalBytes());
    }
}
