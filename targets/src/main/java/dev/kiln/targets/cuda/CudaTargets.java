package dev.kiln.targets.cuda;

import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.TargetException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code cuda-smXY} targets: PTX for an NVIDIA architecture, with the limits of that generation's
 * data-centre part (the compute units only size the default grids; every part of the
 * architecture runs the code). {@code cuda} is this machine's first GPU, detected through the
 * driver ({@link CudaDevices}).
 */
public final class CudaTargets {
    public static final String PREFIX = "cuda";
    /** LLVM's triple for 64-bit PTX. */
    public static final String TRIPLE = "nvptx64-nvidia-cuda";
    /** The PTX ISA the modules declare: 8.0 (CUDA 12.0), which every driver that runs sm_90 accepts. */
    static final String FEATURES = "+ptx80";
    /** Static shared memory per block: larger needs opt-in dynamic shared memory. */
    static final long SHARED_BYTES = 48 * 1024;

    private CudaTargets() {}

    /** Architecture -> streaming multiprocessors of a typical part (T4, A100, A10, L4, H100 SXM). */
    private static final Map<Integer, Integer> ARCHS = archs();

    private static Map<Integer, Integer> archs() {
        Map<Integer, Integer> m = new LinkedHashMap<>();
        m.put(75, 40);
        m.put(80, 108);
        m.put(86, 72);
        m.put(89, 58);
        m.put(90, 132);
        return m;
    }

    /** The names {@link #parse} accepts. */
    public static List<String> names() {
        return ARCHS.keySet().stream().map(a -> PREFIX + "-sm" + a).toList();
    }

    /** {@code spec} is {@code cuda} or {@code cuda-smXY} (lower case). */
    public static GpuTarget parse(String spec) {
        if (spec.equals(PREFIX)) {
            List<CudaDevice> gpus = CudaDevices.list();
            return of(gpus.getFirst());
        }
        String arch = spec.substring(PREFIX.length() + 1);
        if (arch.startsWith("sm") && arch.length() > 2) {
            try {
                int sm = Integer.parseInt(arch.substring(2).replace("_", ""));
                Integer units = ARCHS.get(sm);
                if (units != null) return target(sm, units);
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        throw new TargetException("unknown CUDA architecture '" + arch + "'; Kiln compiles for " + String.join(", ", names())
                + ", or 'cuda' for this machine's GPU");
    }

    /** Whether {@code s} (lower case) names a CUDA target. */
    public static boolean matches(String s) {
        return s.equals(PREFIX) || s.startsWith(PREFIX + "-");
    }

    /** The target for a GPU of this machine: its architecture, with its own multiprocessor count. */
    public static GpuTarget of(CudaDevice d) {
        int sm = d.major() * 10 + d.minor();
        int supported = ARCHS.keySet().stream().filter(a -> a <= sm && a / 10 == sm / 10).max(Integer::compare)
                .orElseGet(() -> ARCHS.keySet().stream().filter(a -> a <= sm).max(Integer::compare).orElseThrow(() ->
                        new TargetException("GPU " + d.name() + " is sm_" + sm + "; Kiln's PTX needs sm_75 or newer")));
        return target(supported, d.multiprocessors());
    }

    private static GpuTarget target(int sm, int units) {
        return new GpuTarget(PREFIX + "-sm" + sm, GpuTarget.Api.CUDA, TRIPLE, "sm_" + sm, FEATURES, 1024, SHARED_BYTES, 32, units, 4);
    }

    /** The architecture number of a CUDA target ({@code 90} for {@code cuda-sm90}). */
    public static int arch(GpuTarget t) {
        return Integer.parseInt(t.cpu().substring(3));
    }
}
