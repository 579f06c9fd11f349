package dev.kiln.targets;

import dev.kiln.targets.cuda.CudaTargets;
import dev.kiln.targets.opencl.OpenClTargets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A machine Kiln compiles for, as data: a {@link CpuTarget} (LLVM triple, CPU, features, vector
 * width and registers, caches, cores) or a {@link GpuTarget} (API, thread limits, shared memory,
 * warp size, compute units). Templates and passes read hardware facts from here, never from
 * constants of their own; a backend ({@code dev.kiln.codegen.Backend}) turns kernels scheduled for
 * a target into an artifact, and a device runtime ({@link DeviceRuntime}) runs that artifact.
 */
public sealed interface Target permits CpuTarget, GpuTarget {
    /** The name users write on the command line and that tuning records are keyed by. */
    String name();

    /**
     * The target names whose tuning records fit this target, in order of preference: its own, then
     * (for a target that only adds instructions the tuned kernels do not use) the one it extends.
     */
    default java.util.List<String> recordTargets() {
        return java.util.List.of(name());
    }

    /** The LLVM target triple code is generated for. */
    String triple();

    /** The LLVM CPU name (a CPU model, or a GPU architecture such as {@code sm_90}). */
    String cpu();

    /** The LLVM feature string, e.g. {@code +avx2,+fma} or {@code +neon}. */
    String features();

    /** How many parallel workers the schedules plan for: CPU cores, or GPU compute units. */
    int cores();

    /** Whether code built for this target can run on this machine (so tests may execute it in-process). */
    boolean canRunOnHost();

    /** The target named {@code s}; an unknown name is a {@link TargetException} listing the known ones. */
    static Target parse(String s) {
        String key = s == null ? "" : s.strip().toLowerCase(Locale.ROOT);
        // An AVX-512 target with the bf16 dot product, for a machine other than this one (the host has it where its CPU does).
        if (key.equals("x86_64-avx512+bf16")) return avx512().withFeature(CpuTarget.BF16_FEATURE);
        if (key.equals(CpuTarget.AVX512_VNNI + "+bf16")) return CpuTarget.avx512Vnni().withFeature(CpuTarget.BF16_FEATURE);
        if (key.equals("x86_64-avx512")) return avx512();
        if (key.equals("x86_64-avx2")) return avx2();
        if (key.equals(CpuTarget.AVX512_VNNI)) return CpuTarget.avx512Vnni();
        if (key.equals(CpuTarget.AVX2_VNNI)) return CpuTarget.avx2Vnni();
        if (key.equals("host")) return host();
        if (key.equals(CpuTarget.NEON) || key.startsWith(CpuTarget.NEON + ":")) {
            String cpu = key.equals(CpuTarget.NEON) ? CpuTarget.DEFAULT_ARM_CPU : key.substring(CpuTarget.NEON.length() + 1);
            return CpuTarget.neon(cpu);
        }
        if (key.equals(OpenClTargets.PREFIX) || key.startsWith(OpenClTargets.PREFIX + ":")) return OpenClTargets.parse(key);
        if (CudaTargets.matches(key)) return CudaTargets.parse(key);
        throw new TargetException("unknown target '" + s + "'; known targets: " + String.join(", ", known()));
    }

    /** The target names {@link #parse} accepts, for messages and help. */
    static List<String> known() {
        List<String> names = new ArrayList<>(List.of("x86_64-avx512", "x86_64-avx2", CpuTarget.AVX512_VNNI, CpuTarget.AVX2_VNNI, CpuTarget.AVX512_VNNI + "+bf16", CpuTarget.NEON + "[:CPU]", "host",
                OpenClTargets.PREFIX + "[:" + String.join("|", OpenClTargets.profileNames()) + "|DEVICE]",
                CudaTargets.PREFIX + "[-sm75|-sm80|-sm86|-sm89|-sm90]"));
        return List.copyOf(names);
    }

    static CpuTarget avx512() {
        return CpuTarget.avx512();
    }

    static CpuTarget avx2() {
        return CpuTarget.avx2();
    }

    /**
     * The best known target this machine can run (x86-64: from the CPU flags, with VNNI where the CPU
     * has it; aarch64: NEON).
     */
    static CpuTarget host() {
        return CpuTarget.host();
    }
}
