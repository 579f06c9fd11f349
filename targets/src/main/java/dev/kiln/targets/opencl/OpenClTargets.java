package dev.kiln.targets.opencl;

import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code opencl[:PROFILE]} targets. {@code opencl} is the first OpenCL device of this machine,
 * with the limits it reports; a profile gives a known device's limits for compiling where it is
 * not installed; {@code opencl:DEVICE} (the device-name slug {@code kiln devices} prints) picks
 * another device of this machine.
 */
public final class OpenClTargets {
    public static final String PREFIX = "opencl";

    private OpenClTargets() {}

    /** Known devices: work-group size, local memory, sub-group size, compute units, float vector width. */
    private static final Map<String, GpuTarget> PROFILES = profiles();

    private static Map<String, GpuTarget> profiles() {
        Map<String, GpuTarget> m = new LinkedHashMap<>();
        // The ARM GPUs sit on aarch64 boards: their libraries' host code is built for aarch64.
        m.put("mali-g610", profile("mali-g610", AARCH64, "Mali-G610 MP4", 1024, 32 * 1024, 16, 4, 4));   // RK3588 boards
        m.put("adreno-650", profile("adreno-650", AARCH64, "Adreno 650", 1024, 32 * 1024, 64, 2, 4));    // Snapdragon 865
        m.put("intel-xe", profile("intel-xe", "", "Intel Iris Xe", 512, 64 * 1024, 16, 96, 1));           // Tiger Lake iGPU
        m.put("pocl-cpu", profile("pocl-cpu", "", "PoCL pthread CPU device", 4096, 512 * 1024, 8, 2, 8));
        return m;
    }

    /** The host triple of the profiles of GPUs on aarch64 boards. */
    static final String AARCH64 = "aarch64-unknown-linux-gnu";

    private static GpuTarget profile(String key, String host, String device, int workGroup, long local, int subGroup, int units, int vector) {
        return new GpuTarget(PREFIX + ":" + key, GpuTarget.Api.OPENCL, host, device, "", workGroup, local, subGroup, units, vector);
    }

    /**
     * The CPU an OpenCL library's host code (the executor driving the device) is built for: the
     * target's triple names it (aarch64 for the ARM GPU profiles); empty means this machine's.
     */
    public static CpuTarget hostCpu(GpuTarget t) {
        if (t.triple().isEmpty()) return CpuTarget.host();
        if (t.triple().startsWith("aarch64")) return (CpuTarget) Target.parse("aarch64-neon");
        if (t.triple().startsWith("x86_64")) return CpuTarget.host().arch().equals("x86_64") ? CpuTarget.host() : (CpuTarget) Target.parse("x86_64-avx2");
        throw new TargetException("OpenCL target " + t.name() + ": no host CPU for triple " + t.triple());
    }

    /** The profile names {@code opencl:PROFILE} accepts. */
    public static List<String> profileNames() {
        return List.copyOf(PROFILES.keySet());
    }

    /** {@code spec} is {@code opencl} or {@code opencl:X} (lower case). */
    public static GpuTarget parse(String spec) {
        if (spec.equals(PREFIX)) return of(OpenClDevices.list().getFirst());
        String key = spec.substring(PREFIX.length() + 1);
        GpuTarget p = PROFILES.get(key);
        if (p != null) return p;
        List<OpenClDevice> local;
        try {
            local = OpenClDevices.list();
        } catch (TargetException e) {
            local = List.of();
        }
        for (OpenClDevice d : local) if (d.slug().equals(key)) return of(d);
        throw new TargetException("unknown OpenCL device or profile '" + key + "'; profiles: " + String.join(", ", PROFILES.keySet())
                + (local.isEmpty() ? "" : "; devices here: " + String.join(", ", local.stream().map(OpenClDevice::slug).toList())));
    }

    /** Whether {@code targetName} names an OpenCL device of this machine. */
    public static boolean isLocal(String targetName) {
        try {
            return OpenClDevices.list().stream().anyMatch(d -> (PREFIX + ":" + d.slug()).equals(targetName));
        } catch (TargetException e) {
            return false;
        }
    }

    /** The target for a device of this machine, named after it so its tuning records stay its own. */
    public static GpuTarget of(OpenClDevice d) {
        int subGroup = d.isCpu() ? Math.max(1, d.preferredFloatVectorWidth()) : 32;
        return new GpuTarget(PREFIX + ":" + d.slug(), GpuTarget.Api.OPENCL, "", d.name(), "", d.maxWorkGroupSize(), d.localMemBytes(),
                subGroup, Math.max(1, d.computeUnits()), d.preferredFloatVectorWidth());
    }
}
