package dev.kiln.targets;

import static dev.kiln.targets.Caches.KIB;
import static dev.kiln.targets.Caches.MIB;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A CPU Kiln compiles for: the LLVM triple, CPU and feature string to pin code generation to
 * (always explicit, never "native", so a library built here runs on any machine with the same
 * features), the widest vector register in bits and how many of them there are, the data caches,
 * and the number of cores parallel loops are planned for.
 */
public record CpuTarget(String name, String triple, String cpu, String features, int vectorBits, int vectorRegisters,
                        Caches caches, int cores) implements Target {
    public static final String X86_LINUX = "x86_64-unknown-linux-gnu";
    public static final String AARCH64_LINUX = "aarch64-unknown-linux-gnu";
    static final String NEON = "aarch64-neon";
    static final String DEFAULT_ARM_CPU = "cortex-a72";
    static final String AVX2_FEATURES = "+avx2,+avx,+fma,+f16c,+bmi,+bmi2,+popcnt,+sse4.2";
    static final String AVX512_FEATURES = "+avx512f,+avx512vl,+avx512bw,+avx512dq,+avx512cd," + AVX2_FEATURES;
    /** The names of the x86 targets with an 8-bit dot product ({@code vpdpbusd}): AVX-512 VNNI, and AVX-VNNI on AVX2. */
    static final String AVX512_VNNI = "x86_64-avx512-vnni", AVX2_VNNI = "x86_64-avx2-vnni";
    /** The LLVM feature of AVX-512 BF16 ({@code vdpbf16ps}, {@code vcvtne2ps2bf16}); {@code avx512_bf16} in /proc/cpuinfo. */
    public static final String BF16_FEATURE = "+avx512bf16";
    /** The server x86 caches Kiln's x86 targets plan for (per core L1D and L2, shared L3). */
    private static final Caches X86_CACHES = new Caches(32 * KIB, MIB, 32 * MIB);

    /** An aarch64 CPU Kiln knows: its LLVM name, features beyond NEON, caches and the cores of a typical board. */
    private record ArmCpu(String features, Caches caches, int cores) {}

    /** The ARM CPUs {@code aarch64-neon:CPU} accepts, in the order listed to users. */
    private static final Map<String, ArmCpu> ARM_CPUS = armCpus();

    private static Map<String, ArmCpu> armCpus() {
        Map<String, ArmCpu> m = new LinkedHashMap<>();
        m.put("cortex-a53", new ArmCpu("+neon,+fp-armv8,+crc", new Caches(32 * KIB, 512 * KIB, 0), 4));      // Raspberry Pi 3
        m.put("cortex-a72", new ArmCpu("+neon,+fp-armv8,+crc", new Caches(32 * KIB, MIB, 0), 4));            // Raspberry Pi 4
        m.put("cortex-a76", new ArmCpu("+neon,+fp-armv8,+crc,+dotprod,+fullfp16", new Caches(64 * KIB, 512 * KIB, 2 * MIB), 4)); // Raspberry Pi 5
        m.put("neoverse-n1", new ArmCpu("+neon,+fp-armv8,+crc,+dotprod,+fullfp16", new Caches(64 * KIB, MIB, 32 * MIB), 4));    // Graviton 2
        m.put("neoverse-v1", new ArmCpu("+neon,+fp-armv8,+crc,+dotprod,+fullfp16,+bf16,+i8mm", new Caches(64 * KIB, MIB, 32 * MIB), 4)); // Graviton 3
        m.put("apple-m1", new ArmCpu("+neon,+fp-armv8,+crc,+dotprod,+fullfp16", new Caches(128 * KIB, 12 * MIB, 0), 4));
        return m;
    }

    public CpuTarget {
        if (vectorBits <= 0 || vectorBits % 8 != 0) throw new IllegalArgumentException("vectorBits: " + vectorBits);
        if (vectorRegisters < 1) throw new IllegalArgumentException("vectorRegisters must be >= 1: " + vectorRegisters);
        if (cores < 1) throw new IllegalArgumentException("cores must be >= 1: " + cores);
    }

    public static CpuTarget avx512() {
        return new CpuTarget("x86_64-avx512", X86_LINUX, "skylake-avx512", AVX512_FEATURES, 512, 32, X86_CACHES, hostCores());
    }

    /**
     * A VNNI target's own records, then those of the target it extends: the same vector width,
     * registers and templates, so a config tuned there schedules the same kernel (the int8
     * products, which only VNNI targets have, are found under the VNNI name only).
     */
    @Override
    public java.util.List<String> recordTargets() {
        if (name.equals(AVX512_VNNI)) return java.util.List.of(name, "x86_64-avx512");
        if (name.equals(AVX2_VNNI)) return java.util.List.of(name, "x86_64-avx2");
        return java.util.List.of(name);
    }

    /** AVX-512 with VNNI (Cascade Lake and later, Zen 4 and later): {@code vpdpbusd} on 512-bit vectors. */
    public static CpuTarget avx512Vnni() {
        return new CpuTarget(AVX512_VNNI, X86_LINUX, "cascadelake", "+avx512vnni," + AVX512_FEATURES, 512, 32, X86_CACHES, hostCores());
    }

    /** AVX2 with AVX-VNNI (Alder Lake and later without AVX-512): {@code vpdpbusd} on 256-bit vectors. */
    public static CpuTarget avx2Vnni() {
        return new CpuTarget(AVX2_VNNI, X86_LINUX, "haswell", "+avxvnni," + AVX2_FEATURES, 256, 16, X86_CACHES, hostCores());
    }

    public static CpuTarget avx2() {
        return new CpuTarget("x86_64-avx2", X86_LINUX, "haswell", AVX2_FEATURES, 256, 16, X86_CACHES, hostCores());
    }

    /** {@code aarch64-neon:CPU}: 128-bit NEON with 32 vector registers, for one of the known ARM CPUs. */
    public static CpuTarget neon(String cpu) {
        ArmCpu c = ARM_CPUS.get(cpu);
        if (c == null) {
            throw new TargetException("unknown CPU '" + cpu + "' for target " + NEON + "; known CPUs: "
                    + String.join(", ", ARM_CPUS.keySet()) + " (default " + DEFAULT_ARM_CPU + ")");
        }
        return new CpuTarget(NEON + ":" + cpu, AARCH64_LINUX, cpu, c.features(), 128, 32, c.caches(), c.cores());
    }

    /** The CPUs {@code aarch64-neon:CPU} accepts. */
    public static List<String> armCpuNames() {
        return List.copyOf(ARM_CPUS.keySet());
    }

    /** The best known target this machine can run, chosen from /proc/cpuinfo. */
    public static CpuTarget host() {
        String arch = hostArch();
        if (arch.equals("aarch64")) return neon(hostArmCpu());
        Set<String> flags = hostFlags();
        if (flags.isEmpty()) {
            throw new TargetException("cannot detect the host CPU (no flags in /proc/cpuinfo; is this x86_64 Linux?); "
                    + "name a target explicitly: " + String.join(", ", Target.known()));
        }
        if (hasAvx512(flags)) {
            CpuTarget t = flags.contains("avx512_vnni") ? avx512Vnni() : avx512();
            // The bf16 dot product as a feature, not a name: host stays the name its records are kept under.
            return flags.contains("avx512_bf16") ? t.withFeature(BF16_FEATURE) : t;
        }
        if (flags.contains("avx2") && flags.contains("fma")) return flags.contains("avx_vnni") ? avx2Vnni() : avx2();
        throw new TargetException("the host CPU has neither AVX-512 (f, bw, vl, dq) nor AVX2+FMA; Kiln's x86_64 "
                + "targets need at least AVX2 and FMA");
    }

    /** The architecture part of the triple: {@code x86_64} or {@code aarch64}. */
    public String arch() {
        return triple.substring(0, triple.indexOf('-'));
    }

    /** Debian's multiarch name of the triple: x86_64-unknown-linux-gnu -> x86_64-linux-gnu. */
    public String multiarch() {
        String[] p = triple.split("-");
        return p.length == 4 ? p[0] + "-" + p[2] + "-" + p[3] : triple;
    }

    /**
     * Whether the CPU multiplies bytes into 32-bit sums in one instruction ({@code vpdpbusd}: AVX-512
     * VNNI or AVX-VNNI), which makes an int8 matrix product four times as dense as an fp32 one.
     */
    public boolean hasInt8DotProduct() {
        List<String> f = List.of(features.split(","));
        return f.contains("+avx512vnni") || f.contains("+avxvnni");
    }

    /**
     * Whether the CPU multiplies pairs of bfloat16 into fp32 sums in one instruction ({@code vdpbf16ps}:
     * AVX-512 BF16), which makes a bf16 matrix product twice as dense as an fp32 one. The host has it
     * where its CPU does ({@code avx512_bf16} in /proc/cpuinfo), under its usual name.
     */
    public boolean hasBf16DotProduct() {
        return List.of(features.split(",")).contains(BF16_FEATURE);
    }

    /** This target with one more LLVM feature (same name, so the same tuning records). */
    public CpuTarget withFeature(String feature) {
        if (List.of(features.split(",")).contains(feature)) return this;
        return new CpuTarget(name, triple, cpu, feature + "," + features, vectorBits, vectorRegisters, caches, cores);
    }

    /** How many elements of {@code elemBytes} bytes one vector register holds. */
    public int vectorLanes(int elemBytes) {
        if (elemBytes <= 0) throw new IllegalArgumentException("elemBytes must be > 0: " + elemBytes);
        return Math.max(1, vectorBits / 8 / elemBytes);
    }

    /**
     * Channels per block of the blocked (NCHWc) layout: two f32 vectors, at most 16 (AVX-512: 16,
     * one register; AVX2: 16, two; NEON: 8, two), so a conv's register tile holds a whole block
     * per output column and still leaves most registers for columns.
     */
    public int channelBlock() {
        return Math.min(16, 2 * vectorLanes(4));
    }

    /**
     * Vector registers a register tile leaves free beyond its accumulators and weight vectors: 0 on
     * x86, whose FMAs read the broadcast input straight from memory; 2 on aarch64, where NEON's
     * FMA takes every operand from a register, so the input and the next one loaded need two.
     */
    public int scratchVectorRegisters() {
        return arch().equals("aarch64") ? 2 : 0;
    }

    @Override
    public boolean canRunOnHost() {
        if (!arch().equals(hostArch())) return false;
        if (arch().equals("aarch64")) return true;
        Set<String> flags = hostFlags();
        if (features.contains("+avx512vnni") && !flags.contains("avx512_vnni")) return false;
        if (features.contains("+avxvnni") && !flags.contains("avx_vnni")) return false;
        if (features.contains(BF16_FEATURE) && !flags.contains("avx512_bf16")) return false;
        if (features.contains("+avx512f")) return hasAvx512(flags);
        if (features.contains("+avx2")) return flags.contains("avx2") && flags.contains("fma");
        return true;
    }

    /** This machine's architecture in triple spelling. */
    public static String hostArch() {
        String a = System.getProperty("os.arch", "");
        return switch (a) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> a;
        };
    }

    private static boolean hasAvx512(Set<String> flags) {
        return flags.containsAll(List.of("avx512f", "avx512bw", "avx512vl", "avx512dq"));
    }

    private static int hostCores() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** The known ARM CPU this aarch64 machine is (by its "CPU part"), else the default. */
    private static String hostArmCpu() {
        Map<String, String> parts = Map.of("0xd03", "cortex-a53", "0xd08", "cortex-a72", "0xd0b", "cortex-a76",
                "0xd0c", "neoverse-n1", "0xd40", "neoverse-v1");
        for (String line : cpuinfo()) {
            if (line.startsWith("CPU part")) {
                String part = line.substring(line.indexOf(':') + 1).strip().toLowerCase();
                return parts.getOrDefault(part, DEFAULT_ARM_CPU);
            }
        }
        return DEFAULT_ARM_CPU;
    }

    private static volatile Set<String> cachedFlags;

    /** The flags of the first processor in /proc/cpuinfo; empty if unreadable. */
    static Set<String> hostFlags() {
        Set<String> flags = cachedFlags;
        if (flags != null) return flags;
        flags = new HashSet<>();
        for (String line : cpuinfo()) {
            if (line.startsWith("flags")) {
                int colon = line.indexOf(':');
                for (String f : line.substring(colon + 1).strip().split("\\s+")) flags.add(f);
                break;
            }
        }
        cachedFlags = flags = Set.copyOf(flags);
        return flags;
    }

    private static List<String> cpuinfo() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException | RuntimeException e) {
            return List.of(); // not Linux or not readable: callers report that clearly
        }
    }
}
