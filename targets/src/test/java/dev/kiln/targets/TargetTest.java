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
        CpuTarget a = (CpuTarget) Target.parse("x86_64-avx512");
        assertEquals("x86_64-unknown-linux-gnu", a.triple());
        assertEquals("skylake-avx512", a.cpu());
        assertEquals(512, a.vectorBits());
        assertTrue(List.of(a.features().split(",")).containsAll(List.of("+avx512f", "+avx512bw", "+avx512vl", "+avx512dq", "+fma")));
        CpuTarget b = (CpuTarget) Target.parse(" X86_64-AVX2 ");
        assertEquals("haswell", b.cpu());
        assertEquals(256, b.vectorBits());
        assertFalse(b.features().contains("avx512"));
        assertTrue(b.cores() >= 1);
        assertEquals(32, a.vectorRegisters());
        assertEquals(16, b.vectorRegisters());
        assertEquals(16, a.channelBlock());
        assertEquals(16, b.channelBlock());
    }

    @Test
    void parsesNeonWithEachKnownCpu() {
        CpuTarget d = (CpuTarget) Target.parse("aarch64-neon");
        assertEquals("aarch64-neon:cortex-a72", d.name());
        assertEquals("aarch64-unknown-linux-gnu", d.triple());
        assertEquals("aarch64-linux-gnu", d.multiarch());
        assertEquals("aarch64", d.arch());
        assertEquals(128, d.vectorBits());
        assertEquals(32, d.vectorRegisters());
        assertEquals(4, d.vectorLanes(4));
        assertEquals(8, d.channelBlock());
        assertTrue(d.features().contains("+neon"));
        for (String cpu : List.of("cortex-a53", "cortex-a72", "cortex-a76", "neoverse-n1", "neoverse-v1", "apple-m1")) {
            CpuTarget t = (CpuTarget) Target.parse("aarch64-neon:" + cpu);
            assertEquals(cpu, t.cpu());
            assertEquals("aarch64-neon:" + cpu, t.name());
            assertEquals(t, Target.parse(t.name()), "a target's name parses back to it");
        }
        assertEquals(64 * 1024, ((CpuTarget) Target.parse("aarch64-neon:neoverse-n1")).caches().l1d());
        if (!CpuTarget.hostArch().equals("aarch64")) assertFalse(d.canRunOnHost());
    }

    @Test
    void unknownArmCpuListsTheKnownOnes() {
        TargetException e = assertThrows(TargetException.class, () -> Target.parse("aarch64-neon:cortex-x9"));
        assertTrue(e.getMessage().contains("cortex-x9") && e.getMessage().contains("neoverse-n1")
                && e.getMessage().contains("apple-m1"), e.getMessage());
    }

    @Test
    void openClProfilesGiveADevicesLimits() {
        GpuTarget mali = (GpuTarget) Target.parse("opencl:mali-g610");
        assertEquals(GpuTarget.Api.OPENCL, mali.api());
        assertEquals(1024, mali.maxThreadsPerBlock());
        assertEquals(32 * 1024, mali.sharedMemoryBytes());
        assertEquals(mali, Target.parse(mali.name()), "a profile's name parses back to it");
        for (String p : List.of("mali-g610", "adreno-650", "intel-xe", "pocl-cpu")) {
            assertEquals("opencl:" + p, Target.parse("opencl:" + p).name());
        }
        TargetException e = assertThrows(TargetException.class, () -> Target.parse("opencl:voodoo-5"));
        assertTrue(e.getMessage().contains("voodoo-5") && e.getMessage().contains("mali-g610") && e.getMessage().contains("pocl-cpu"),
                e.getMessage());
    }

    /** {@code opencl} is this machine's first device, with the limits it reports (PoCL's CPU device in CI). */
    @Test
    void openClIsTheFirstDeviceHere() {
        java.util.List<dev.kiln.targets.opencl.OpenClDevice> devices;
        try {
            devices = dev.kiln.targets.opencl.OpenClDevices.list();
        } catch (TargetException e) {
            assertTrue(e.getMessage().contains("pocl-opencl-icd"), "the error should say what to install: " + e.getMessage());
            org.junit.jupiter.api.Assumptions.abort("no OpenCL platform here: " + e.getMessage());
            return;
        }
        GpuTarget t = (GpuTarget) Target.parse("opencl");
        var d = devices.getFirst();
        assertEquals("opencl:" + d.slug(), t.name());
        assertEquals(d.maxWorkGroupSize(), t.maxThreadsPerBlock());
        assertEquals(d.localMemBytes(), t.sharedMemoryBytes());
        assertTrue(t.maxThreadsPerBlock() >= 1 && t.computeUnits() >= 1 && t.vectorWidth() >= 1, t.toString());
        assertEquals(t, Target.parse(t.name()), "a local device's name parses back to it");
    }

    @Test
    void gpuTargetsAreDataWithLimits() {
        GpuTarget g = new GpuTarget("cuda-sm90", GpuTarget.Api.CUDA, "nvptx64-nvidia-cuda", "sm_90", "+ptx80", 1024,
                228 * 1024, 32, 132);
        assertEquals(132, g.cores());
        assertFalse(g.canRunOnHost());
        assertThrows(IllegalArgumentException.class, () -> new GpuTarget("bad", GpuTarget.Api.OPENCL, "", "", "", 0, 0, 32, 1));
    }

    @Test
    void unknownTargetListsTheKnownOnes() {
        TargetException e = assertThrows(TargetException.class, () -> Target.parse("riscv-v"));
        assertTrue(e.getMessage().contains("riscv-v"), e.getMessage());
        assertTrue(e.getMessage().contains("x86_64-avx512") && e.getMessage().contains("x86_64-avx2")
                && e.getMessage().contains("aarch64-neon"), e.getMessage());
        assertThrows(TargetException.class, () -> Target.parse(null));
    }

    @Test
    void vectorLanes() {
        assertEquals(16, Target.avx512().vectorLanes(4));
        assertEquals(8, Target.avx512().vectorLanes(8));
        assertEquals(8, Target.avx2().vectorLanes(4));
        assertEquals(32, Target.avx2().vectorLanes(1));
        assertThrows(IllegalArgumentException.class, () -> Target.avx2().vectorLanes(0));
    }

    @Test
    void vnniTargetsAddTheInt8DotProductToTheirBase() {
        CpuTarget a = (CpuTarget) Target.parse("x86_64-avx512-vnni"), b = (CpuTarget) Target.parse("x86_64-avx2-vnni");
        assertTrue(a.hasInt8DotProduct() && a.features().contains("+avx512vnni") && a.features().contains("+avx512bw"));
        assertEquals(512, a.vectorBits());
        assertTrue(b.hasInt8DotProduct() && b.features().contains("+avxvnni") && !b.features().contains("avx512"));
        assertEquals(256, b.vectorBits());
        assertFalse(Target.avx512().hasInt8DotProduct());
        assertFalse(Target.avx2().hasInt8DotProduct());
        assertTrue(Target.known().contains("x86_64-avx512-vnni"));
    }

    /** The bf16 dot product is a feature of the host, not a name: records tuned under the host's name keep applying. */
    @Test
    void bf16DotProductIsAHostFeatureUnderTheSameName() throws Exception {
        CpuTarget vnni = CpuTarget.avx512Vnni(), bf16 = vnni.withFeature(CpuTarget.BF16_FEATURE);
        assertFalse(vnni.hasBf16DotProduct());
        assertTrue(bf16.hasBf16DotProduct());
        assertEquals(vnni.name(), bf16.name());
        assertEquals(bf16, bf16.withFeature(CpuTarget.BF16_FEATURE));
        assertFalse(((CpuTarget) Target.parse("x86_64-avx512-vnni")).hasBf16DotProduct());
        CpuTarget named = (CpuTarget) Target.parse("x86_64-avx512-vnni+bf16");
        assertTrue(named.hasBf16DotProduct() && named.hasInt8DotProduct());
        assertEquals("x86_64-avx512-vnni", named.name(), "the records of the VNNI target apply");
        assertTrue(((CpuTarget) Target.parse("x86_64-avx512+bf16")).hasBf16DotProduct());
        if (!CpuTarget.hostArch().equals("x86_64")) return;
        String cpuinfo = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo"));
        boolean has = cpuinfo.contains(" avx512_bf16") && cpuinfo.contains(" avx512f");
        assertEquals(has, Target.host().hasBf16DotProduct());
        assertEquals(has, bf16.canRunOnHost());
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
        String base = avx512 ? "x86_64-avx512" : "x86_64-avx2";
        boolean vnni = flags.contains(avx512 ? "avx512_vnni" : "avx_vnni");
        assertEquals(vnni ? base + "-vnni" : base, h.name());
        assertEquals(vnni, ((CpuTarget) h).hasInt8DotProduct());
        assertTrue(h.canRunOnHost());
        assertEquals(avx512 && flags.contains("avx512_vnni"), CpuTarget.avx512Vnni().canRunOnHost());
        assertEquals(avx2 && flags.contains("avx_vnni"), CpuTarget.avx2Vnni().canRunOnHost());
        assertTrue(Target.avx2().canRunOnHost() == avx2);
        assertEquals(avx512, Target.avx512().canRunOnHost());
    }
}
