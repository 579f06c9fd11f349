package dev.kiln.targets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A machine Kiln compiles for: the LLVM triple, CPU and feature string to pin code generation
 * to, the widest vector register in bits, and the number of cores to plan parallel loops for.
 * The CPU is always explicit, never "native", so a library built here runs on any machine with
 * the same features.
 */
public record Target(String name, String triple, String cpu, String features, int vectorBits, int cores) {
    public static final String X86_LINUX = "x86_64-unknown-linux-gnu";
    static final String AVX2_FEATURES = "+avx2,+avx,+fma,+f16c,+bmi,+bmi2,+popcnt,+sse4.2";
    static final String AVX512_FEATURES = "+avx512f,+avx512vl,+avx512bw,+avx512dq,+avx512cd," + AVX2_FEATURES;
    private static final List<String> KNOWN = List.of("x86_64-avx512", "x86_64-avx2", "host");

    public Target {
        if (vectorBits <= 0 || vectorBits % 8 != 0) throw new IllegalArgumentException("vectorBits: " + vectorBits);
        if (cores < 1) throw new IllegalArgumentException("cores must be >= 1: " + cores);
    }

    /** The target named {@code s}: one of {@code x86_64-avx512}, {@code x86_64-avx2}, {@code host}. */
    public static Target parse(String s) {
        String key = s == null ? "" : s.strip().toLowerCase();
        return switch (key) {
            case "x86_64-avx512" -> avx512();
            case "x86_64-avx2" -> avx2();
            case "host" -> host();
            default -> throw new TargetException("unknown target '" + s + "'; known targets: " + String.join(", ", KNOWN));
        };
    }

    public static Target avx512() {
        return new Target("x86_64-avx512", X86_LINUX, "skylake-avx512", AVX512_FEATURES, 512, hostCores());
    }

    public static Target avx2() {
        return new Target("x86_64-avx2", X86_LINUX, "haswell", AVX2_FEATURES, 256, hostCores());
    }

    /** The best known target this machine can run, chosen from the CPU flags in /proc/cpuinfo. */
    public static Target host() {
        Set<String> flags = hostFlags();
        if (flags.isEmpty()) {
            throw new TargetException("cannot detect the host CPU (no flags in /proc/cpuinfo; is this x86_64 Linux?); "
                    + "name a target explicitly: " + String.join(", ", KNOWN.subList(0, 2)));
        }
        if (hasAvx512(flags)) return avx512();
        if (flags.contains("avx2") && flags.contains("fma")) return avx2();
        throw new TargetException("the host CPU has neither AVX-512 (f, bw, vl, dq) nor AVX2+FMA; Kiln's x86_64 "
                + "targets need at least AVX2 and FMA");
    }

    /** How many elements of {@code elemBytes} bytes one vector register holds. */
    public int vectorLanes(int elemBytes) {
        if (elemBytes <= 0) throw new IllegalArgumentException("elemBytes must be > 0: " + elemBytes);
        return Math.max(1, vectorBits / 8 / elemBytes);
    }

    /** Whether code built for this target can run on this machine (so tests may execute it). */
    public boolean canRunOnHost() {
        if (!triple.startsWith("x86_64")) return false;
        Set<String> flags = hostFlags();
        if (features.contains("+avx512f")) return hasAvx512(flags);
        if (features.contains("+avx2")) return flags.contains("avx2") && flags.contains("fma");
        return true;
    }

    private static boolean hasAvx512(Set<String> flags) {
        return flags.containsAll(List.of("avx512f", "avx512bw", "avx512vl", "avx512dq"));
    }

    private static int hostCores() {
        return Runtime.getRuntime().availableProcessors();
    }

    private static volatile Set<String> cachedFlags;

    /** The flags of the first processor in /proc/cpuinfo; empty if unreadable. */
    static Set<String> hostFlags() {
        Set<String> flags = cachedFlags;
        if (flags != null) return flags;
        flags = new HashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    int colon = line.indexOf(':');
                    for (String f : line.substring(colon + 1).strip().split("\\s+")) flags.add(f);
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux or not readable: no flags, callers report that clearly.
        }
        cachedFlags = flags = Set.copyOf(flags);
        return flags;
    }
}
