package dev.kiln.targets.opencl;

import static org.jocl.CL.*;

import dev.kiln.targets.TargetException;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * The OpenCL devices of this machine, read through JOCL (which opens the ICD loader,
 * libOpenCL.so.1). Nothing here is needed to run a compiled OpenCL library; it serves
 * {@code --target opencl}, {@code kiln devices} and the tuner.
 */
public final class OpenClDevices {
    /** What to install when OpenCL is missing, for every message that says so. */
    public static final String INSTALL_HINT = "install an OpenCL driver and the ICD loader (Debian: pocl-opencl-icd for the CPU, "
            + "ocl-icd-libopencl1; or your GPU vendor's OpenCL package)";

    private OpenClDevices() {}

    /** Every device of every platform, in platform order; a {@link TargetException} saying what to install when there is none. */
    public static List<OpenClDevice> list() {
        List<OpenClDevice> known = cached;
        if (known != null) return known;
        known = List.copyOf(query());
        cached = known;
        return known;
    }

    /** The devices, read once per process: the platforms of a machine do not change while Kiln runs. */
    private static volatile List<OpenClDevice> cached;

    private static List<OpenClDevice> query() {
        List<OpenClDevice> out = new ArrayList<>();
        try {
            setExceptionsEnabled(true);
            int[] n = new int[1];
            try {
                clGetPlatformIDs(0, null, n);
            } catch (CLException e) {
                throw new TargetException("no OpenCL platform found (" + e.getMessage() + "): " + INSTALL_HINT, e);
            }
            if (n[0] == 0) throw new TargetException("no OpenCL platform found: " + INSTALL_HINT);
            cl_platform_id[] platforms = new cl_platform_id[n[0]];
            clGetPlatformIDs(n[0], platforms, null);
            for (cl_platform_id p : platforms) {
                String platform = platformString(p, CL_PLATFORM_NAME);
                int[] count = new int[1];
                try {
                    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, count);
                } catch (CLException e) {
                    continue; // CL_DEVICE_NOT_FOUND: a platform without devices
                }
                cl_device_id[] devices = new cl_device_id[count[0]];
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, count[0], devices, null);
                for (cl_device_id d : devices) out.add(describe(platform, d));
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new TargetException("cannot open the OpenCL ICD loader libOpenCL.so.1 (" + e.getMessage() + "): " + INSTALL_HINT, e);
        }
        if (out.isEmpty()) throw new TargetException("the OpenCL platforms of this machine have no device: " + INSTALL_HINT);
        return out;
    }

    private static OpenClDevice describe(String platform, cl_device_id d) {
        long type = deviceLong(d, CL_DEVICE_TYPE);
        String kind = (type & CL_DEVICE_TYPE_GPU) != 0 ? "GPU" : (type & CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
                : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "ACCELERATOR" : "OTHER";
        String extensions = deviceString(d, CL_DEVICE_EXTENSIONS);
        return new OpenClDevice(platform, deviceString(d, CL_DEVICE_NAME).strip(), kind, deviceString(d, CL_DEVICE_VERSION).strip(),
                (int) deviceSize(d, CL_DEVICE_MAX_WORK_GROUP_SIZE), deviceLong(d, CL_DEVICE_LOCAL_MEM_SIZE),
                deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS), Math.max(1, deviceInt(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT)),
                deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE), extensions.contains("cl_khr_fp64"), extensions.contains("cl_khr_fp16"));
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceSize(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }
}
