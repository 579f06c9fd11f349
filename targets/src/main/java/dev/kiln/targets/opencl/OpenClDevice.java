package dev.kiln.targets.opencl;

/** One OpenCL device of this machine and the limits templates size their work by. */
public record OpenClDevice(String platform, String name, String type, String version, int maxWorkGroupSize, long localMemBytes,
                           int computeUnits, int preferredFloatVectorWidth, long globalMemBytes, boolean fp64, boolean fp16) {
    /** The device as a target-name suffix: lower case, runs of other characters as one dash. */
    public String slug() {
        String s = name.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
        return s.isEmpty() ? "device" : s;
    }

    /** A CPU device (PoCL's pthread device): no warps, its work-items are vector lanes and loops. */
    public boolean isCpu() {
        return type.contains("CPU");
    }
}
