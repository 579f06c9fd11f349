package dev.kiln.codegen;

import dev.kiln.codegen.cuda.CudaBackend;
import dev.kiln.codegen.opencl.OpenClBackend;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.Target;
import java.nio.file.Path;

/**
 * The seam between Kiln's target-independent pipeline and one kind of target: everything that
 * differs between an x86 library, an aarch64 library, a PTX module or an OpenCL program. A backend
 * decides how code is spelled and packaged, never what it computes: schedules decide where loops
 * run (parallel, vectorized, bound to GPU threads), and every backend receives the same scheduled
 * loop IR and {@link ModuleSpec}.
 *
 * <p>{@link NativeCompiler} drives a backend: {@link #lower} on each kernel, {@link #emit} once
 * for the module, {@link #pack} into a temporary file that is then published atomically.
 */
public interface Backend {
    /** The target this backend generates code for. */
    Target target();

    /**
     * The loop-IR steps this target needs on every scheduled kernel, after the common lowering
     * (a GPU backend maps bound loops to thread indices here). CPUs need none.
     */
    default PrimFunc lower(PrimFunc kernel) {
        return kernel;
    }

    /**
     * The kernels and the executor (static memory plan, constants, the C entry points) of
     * {@code spec} in the backend's compiled form. {@code dumpDir} (nullable) receives the
     * backend's own intermediate forms (LLVM IR, assembly, OpenCL C).
     */
    Emitted emit(ModuleSpec spec, Path dumpDir);

    /**
     * Packages {@code module} as {@code packaging} asks, writing the file {@code out};
     * {@code finalName} is the file name it will be published under (a library's soname).
     */
    void pack(Emitted module, ModuleSpec spec, Packaging packaging, Path out, String finalName);

    /** C declarations of the library's entry points beyond the five of every target, for its header; none by default. */
    default String headerExtras() {
        return "";
    }

    /**
     * A compiled module: the bytes of its object file (or source, for backends that ship source),
     * and files published beside the output by suffix (a CUDA library's {@code .ptx}).
     */
    record Emitted(byte[] bytes, java.util.Map<String, byte[]> sidecars) {
        public Emitted {
            sidecars = java.util.Map.copyOf(sidecars);
        }

        public Emitted(byte[] bytes) {
            this(bytes, java.util.Map.of());
        }
    }

    /** The backend for {@code target}; {@code sysroot} (nullable) overrides where a CPU target's system libraries come from. */
    static Backend of(Target target, Path sysroot) {
        return switch (target) {
            case CpuTarget cpu -> new LlvmCpuBackend(cpu, sysroot);
            case GpuTarget gpu when gpu.api() == GpuTarget.Api.OPENCL -> new OpenClBackend(gpu, sysroot);
            case GpuTarget gpu -> new CudaBackend(gpu, sysroot);
        };
    }
}
