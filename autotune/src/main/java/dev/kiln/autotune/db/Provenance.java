package dev.kiln.autotune.db;

import java.util.Objects;

/**
 * Where a record's measurement came from, beyond what every record already says (target, Kiln
 * version, device key, time, tuner): the LLVM that compiled the candidate, the device that ran it
 * (CPU model, or GPU name and driver), that device's features, and how many trials its run was
 * given. Records of older Kilns have none of it ({@link #NONE}); each field is empty or 0 where unknown.
 *
 * @param llvmVersion LLVM's version, e.g. {@code 20.1.7}
 * @param device      the CPU model ({@code AMD EPYC 9R45}) or the GPU name and driver
 * @param features    the target's feature string ({@code +avx512f,+fma,...}), or the GPU's architecture
 * @param trials      the trial budget of the run that measured it ({@code --trials}), 0 where unknown
 */
public record Provenance(String llvmVersion, String device, String features, long trials) {
    public static final Provenance NONE = new Provenance("", "", "", 0);

    public Provenance {
        Objects.requireNonNull(llvmVersion, "llvmVersion");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(features, "features");
        if (trials < 0) throw new IllegalArgumentException("a run's trial budget is at least 0, got " + trials);
    }

    public boolean isEmpty() {
        return equals(NONE);
    }

    /**
     * The major version of a version string as compatibility goes: {@code 20} of LLVM
     * {@code 20.1.7}; for a {@code 0.x} version (Kiln before 1.0) the minor counts too, {@code 0.1}
     * of {@code 0.1.0}. Empty for an empty version.
     */
    public static String major(String version) {
        String[] parts = version.strip().split("[.\\-+]");
        if (parts.length == 0 || parts[0].isEmpty()) return "";
        return parts[0].equals("0") && parts.length > 1 ? "0." + parts[1] : parts[0];
    }
}
