package dev.kiln.targets;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TargetTest {
    @Test
    void parsesTheX86Targets() {
        Target a = Target.parse("x86_64-avx512");
        assertEquals("x86_64-unknown-linux-gnu", a.triple());
        assertEquals("skylake-avx512", a.cpu());
        assertEquals(512, a.vectorBits());
        assertTrue(List.of(a.features().split(",")).containsAll(List.of("+avx512f", "+avx512bw", "+avx512vl", "+avx512dq", "+fma")));
        Target b = Target.parse(" X86_64-AVX2 ");
        assertEquals("haswell", b.cpu());
        assertEquals(256, b.vectorBits());
        assertFalse(b.features().contains("avx512"));
        assertTrue(b.cores() >= 1);
    }

    @Test
    void unknownTargetListsTheKnownOnes() {
        TargetException e = assertThrows(TargetException.class, () -> Target.parse("riscv-v"));
        assertTrue(e.getMessage().contains("riscv-v"), e.getMessage());
        assertTrue(e.getMessage().contains("x86_64-avx512") && e.getMessage().contains("x86_64-avx2"), e.getMessage());
        assertThrows(TargetException.class, () -> Target.parse(null));
    }

    @Test
    void vectorLanes() {
        assertEquals(16, Target.parse("x86_64-avx512").vectorLanes(4));
        assertEquals(8, Target.parse("x86_64-avx512").vectorLanes(8));
        assertEquals(8, Target.parse("x86_64-avx2").vectorLanes(4));
        assertEquals(32, Target.parse("x86_64-avx2").vectorLanes(1));
        assertThrows(IllegalArgumentException.class, () -> Target.avx2().vectorLanes(0));
    }

    /** Independent reading of /proc/cpuinfo (grep-style over the whole file, not the parser's first line). */
    @Test
    void hostMatchesCpuinfo() throws Exception {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(cpuinfo)) return;
        String text = Files.readString(cpuinfo);
        String flagsLine = Arrays.stream(text.split("\n")).filter(l -> l.startsWith("flags")).findFirst().orElse("");
        Set<String> flags = Set.of(flagsLine.replaceFirst("^flags\\s*:", "").trim().split("\\s+"));
        boolean avx512 = flags.containsAll(Set.of("avx512f", "avx512bw", "avx512vl", "avx512dq"));
        boolean avx2 = flags.contains("avx2") && flags.contains("fma");
        if (!avx512 && !avx2) {
            assertThrows(TargetException.class, Target::host);
            return;
        }
        Target h = Target.parse("host");
        assertEquals(avx512 ? "x86_64-avx512" : "x86_64-avx2", h.name());
        assertTrue(h.canRunOnHost());
        assertTrue(Target.avx2().canRunOnHost() == avx2);
        assertEquals(avx512, Target.avx512().canRunOnHost());
    }
}
