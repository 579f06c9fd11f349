package dev.kiln.targets.cuda;

import dev.kiln.targets.TargetException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.List;

/**
 * The CUDA GPUs of this machine, read through the JavaCPP CUDA presets (the driver API). The
 * presets are loaded only after {@code libcuda.so.1} (the NVIDIA driver) was found, so a machine
 * without it never touches them. Nothing here is needed to run a compiled CUDA library; it serves
 * {@code --target cuda}, {@code kiln devices} and the tuner.
 */
public final class CudaDevices {
    /** What to install when CUDA is missing, for every message that says so. */
    public static final String INSTALL_HINT = "a CUDA GPU needs the NVIDIA driver (libcuda.so.1); compile for a GPU elsewhere with "
            + "--target cuda-sm80 or cuda-sm90";

    private CudaDevices() {}

    private static volatile List<CudaDevice> cached;

    /** Whether the NVIDIA driver library can be opened here (cheap; loads nothing of the presets). */
    public static boolean driverPresent() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup("libcuda.so.1", arena);
            return true;
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return false;
        }
    }

    /** Whether this machine has at least one usable CUDA GPU. */
    public static boolean present() {
        try {
            return !list().isEmpty();
        } catch (TargetException e) {
            return false;
        }
    }

    /** Every GPU, in the driver's order; a {@link TargetException} saying why when there is none. */
    public static List<CudaDevice> list() {
        List<CudaDevice> known = cached;
        if (known != null) return known;
        known = List.copyOf(query());
        cached = known;
        return known;
    }

    private static List<CudaDevice> query() {
        if (!driverPresent()) throw new TargetException("no CUDA driver here: " + INSTALL_HINT);
        try {
            return Driver.devices();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new TargetException("the NVIDIA driver is here, but the JavaCPP CUDA presets cannot load (" + e.getMessage()
                    + "): they need the CUDA 12 runtime (libcudart.so.12) beside the driver", e);
        }
    }

    /** The calls into the presets, in a class of their own so that nothing loads them before the driver check. */
    private static final class Driver {
        static List<CudaDevice> devices() {
            check(org.bytedeco.cuda.global.cudart.cuInit(0), "cuInit");
            int[] n = new int[1];
            check(org.bytedeco.cuda.global.cudart.cuDeviceGetCount(n), "cuDeviceGetCount");
            if (n[0] == 0) throw new TargetException("the NVIDIA driver reports no GPU: " + INSTALL_HINT);
            List<CudaDevice> out = new ArrayList<>();
            for (int i = 0; i < n[0]; i++) {
                int[] dev = new int[1];
                check(org.bytedeco.cuda.global.cudart.cuDeviceGet(dev, i), "cuDeviceGet");
                byte[] name = new byte[256];
                check(org.bytedeco.cuda.global.cudart.cuDeviceGetName(name, name.length, dev[0]), "cuDeviceGetName");
                int len = 0;
                while (len < name.length && name[len] != 0) len++;
                long[] mem = new long[1];
                try (org.bytedeco.javacpp.SizeTPointer p = new org.bytedeco.javacpp.SizeTPointer(1)) {
                    check(org.bytedeco.cuda.global.cudart.cuDeviceTotalMem(p, dev[0]), "cuDeviceTotalMem");
                    mem[0] = p.get();
                }
                out.add(new CudaDevice(i, new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8),
                        attr(dev[0], org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                        attr(dev[0], org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                        attr(dev[0], org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                        attr(dev[0], org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK),
                        attr(dev[0], org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK),
                        attr(dev[0], org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_WARP_SIZE), mem[0],
                        attr(dev[0], org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_CLOCK_RATE)));
            }
            return out;
        }

        private static int attr(int dev, int attribute) {
            int[] v = new int[1];
            check(org.bytedeco.cuda.global.cudart.cuDeviceGetAttribute(v, attribute, dev), "cuDeviceGetAttribute");
            return v[0];
        }

        private static void check(int status, String call) {
            if (status != 0) throw new TargetException(call + " failed (CUDA error " + status + "): " + INSTALL_HINT);
        }
    }
}
