package dev.kiln.codegen.opencl;

import static org.jocl.CL.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.analysis.LaunchExtents;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;
import org.junit.jupiter.api.Assumptions;

/**
 * Builds printed OpenCL C on the first OpenCL device through JOCL and runs a kernel on buffers
 * in the interpreter's storage form ({@code float[]}, {@code double[]}, {@code long[]}), writing
 * the results back into them. Tests are skipped where there is no OpenCL platform.
 */
final class OpenClRunner {
    private static OpenClRunner instance;
    private static String unavailable;

    private final cl_device_id device;
    private final cl_context context;
    private final cl_command_queue queue;

    private OpenClRunner(cl_device_id device, cl_context context, cl_command_queue queue) {
        this.device = device;
        this.context = context;
        this.queue = queue;
    }

    /** The shared runner, or the test is skipped with what to install. */
    static synchronized OpenClRunner get() {
        if (instance == null && unavailable == null) {
            try {
                CL.setExceptionsEnabled(true);
                int[] n = new int[1];
                clGetPlatformIDs(0, null, n);
                if (n[0] == 0) throw new IllegalStateException("no OpenCL platform");
                cl_platform_id[] platforms = new cl_platform_id[n[0]];
                clGetPlatformIDs(n[0], platforms, null);
                clGetDeviceIDs(platforms[0], CL_DEVICE_TYPE_ALL, 0, null, n);
                cl_device_id[] devices = new cl_device_id[n[0]];
                clGetDeviceIDs(platforms[0], CL_DEVICE_TYPE_ALL, n[0], devices, null);
                cl_context_properties props = new cl_context_properties();
                props.addProperty(CL_CONTEXT_PLATFORM, platforms[0]);
                cl_context ctx = clCreateContext(props, 1, new cl_device_id[] {devices[0]}, null, null, null);
                @SuppressWarnings("deprecation")
                cl_command_queue q = clCreateCommandQueue(ctx, devices[0], 0, null);
                instance = new OpenClRunner(devices[0], ctx, q);
            } catch (LinkageError | RuntimeException e) {
                unavailable = "no OpenCL platform (" + e + "); on Debian/Ubuntu: apt-get install pocl-opencl-icd ocl-icd-libopencl1";
            }
        }
        Assumptions.assumeTrue(instance != null, unavailable);
        return instance;
    }

    /** Compiles {@code source} and runs the kernel printed for {@code f} on {@code args} (one storage array per parameter). */
    void run(String source, String kernelName, PrimFunc f, List<Object> args) {
        cl_program program = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            clBuildProgram(program, 1, new cl_device_id[] {device}, "-cl-std=CL1.2", null, null);
        } catch (CLException e) {
            throw new AssertionError("OpenCL build failed:\n" + buildLog(program) + "\n--- source ---\n" + source, e);
        }
        cl_kernel kernel = clCreateKernel(program, kernelName, null);
        cl_mem[] mems = new cl_mem[args.size()];
        ByteBuffer[] bytes = new ByteBuffer[args.size()];
        for (int i = 0; i < args.size(); i++) {
            Buffer b = f.params().get(i);
            bytes[i] = toBytes(b, args.get(i));
            mems[i] = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes[i].capacity(), Pointer.to(bytes[i]), null);
            clSetKernelArg(kernel, i, Sizeof.cl_mem, Pointer.to(mems[i]));
        }
        LaunchExtents l = LaunchExtents.of(f);
        long[] local = {l.block().x(), l.block().y(), l.block().z()};
        long[] global = {l.grid().x() * local[0], l.grid().y() * local[1], l.grid().z() * local[2]};
        clEnqueueNDRangeKernel(queue, kernel, 3, null, global, local, 0, null, null);
        for (int i = 0; i < args.size(); i++) {
            clEnqueueReadBuffer(queue, mems[i], CL_TRUE, 0, bytes[i].capacity(), Pointer.to(bytes[i]), 0, null, null);
            fromBytes(f.params().get(i), bytes[i], args.get(i));
            clReleaseMemObject(mems[i]);
        }
        clReleaseKernel(kernel);
        clReleaseProgram(program);
    }

    private String buildLog(cl_program program) {
        long[] size = new long[1];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
        byte[] log = new byte[(int) size[0]];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size[0], Pointer.to(log), null);
        return new String(log, 0, Math.max(0, log.length - 1));
    }

    private static ByteBuffer toBytes(Buffer b, Object storage) {
        int n = Math.toIntExact(b.size());
        ByteBuffer bb = ByteBuffer.allocateDirect(Math.max(1, n * b.dtype().bytes())).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            switch (b.dtype()) {
                case F32 -> bb.putFloat(((float[]) storage)[i]);
                case F64 -> bb.putDouble(((double[]) storage)[i]);
                case BOOL, I8, U8 -> bb.put((byte) ((long[]) storage)[i]);
                case I16, U16 -> bb.putShort((short) ((long[]) storage)[i]);
                case I32, U32 -> bb.putInt((int) ((long[]) storage)[i]);
                case I64, U64 -> bb.putLong(((long[]) storage)[i]);
                case F16 -> throw new IllegalArgumentException("f16");
            }
        }
        bb.rewind();
        return bb;
    }

    private static void fromBytes(Buffer b, ByteBuffer bb, Object storage) {
        bb.rewind();
        for (int i = 0; i < b.size(); i++) {
            switch (b.dtype()) {
                case F32 -> ((float[]) storage)[i] = bb.getFloat();
                case F64 -> ((double[]) storage)[i] = bb.getDouble();
                case I8 -> ((long[]) storage)[i] = bb.get();
                case BOOL, U8 -> ((long[]) storage)[i] = bb.get() & 0xFF;
                case I16 -> ((long[]) storage)[i] = bb.getShort();
                case U16 -> ((long[]) storage)[i] = bb.getShort() & 0xFFFF;
                case I32 -> ((long[]) storage)[i] = bb.getInt();
                case U32 -> ((long[]) storage)[i] = bb.getInt() & 0xFFFFFFFFL;
                case I64, U64 -> ((long[]) storage)[i] = bb.getLong();
                case F16 -> throw new IllegalArgumentException("f16");
            }
        }
    }
}
