package dev.kiln.irlow.stmt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ForKindTest {
    @Test
    void gpuKindsAreExactlyTheBlockAndThreadBindings() {
        Set<ForKind> blocks = EnumSet.of(ForKind.GPU_BLOCK_X, ForKind.GPU_BLOCK_Y, ForKind.GPU_BLOCK_Z);
        Set<ForKind> threads = EnumSet.of(ForKind.GPU_THREAD_X, ForKind.GPU_THREAD_Y, ForKind.GPU_THREAD_Z);
        for (ForKind k : ForKind.values()) {
            assertEquals(blocks.contains(k), k.isGpuBlock(), k.name());
            assertEquals(threads.contains(k), k.isGpuThread(), k.name());
            assertEquals(blocks.contains(k) || threads.contains(k), k.isGpu(), k.name());
        }
        assertFalse(ForKind.PARALLEL.isGpu(), "CPU parallel loops are not GPU-bound");
    }
}
