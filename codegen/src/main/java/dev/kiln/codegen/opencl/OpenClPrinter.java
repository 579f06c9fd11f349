package dev.kiln.codegen.opencl;

import dev.kiln.irlow.PrimFunc;
import java.util.ArrayList;
import java.util.List;

/**
 * Prints loop IR as OpenCL C 1.2 source: one {@code __kernel} per PrimFunc, named after it, with
 * its buffers as {@code __global T* restrict} parameters in order (const where never stored to).
 * The launch of each kernel is {@link dev.kiln.irlow.analysis.LaunchExtents#of}: global size =
 * grid x block, local size = block; a kernel with no GPU-bound loops runs as one work-item.
 *
 * <p>Refused, with an {@link OpenClException}: f16 (PoCL has no cl_khr_fp16), vectors of other
 * than 2, 3, 4, 8 or 16 lanes (split the loop by one of those widths), tensor reads and
 * reductions (lower first), GLOBAL allocations larger than a work-item's private memory (hoist
 * them to workspace buffers), and a guarded GPU loop around a barrier.
 */
public final class OpenClPrinter {
    private OpenClPrinter() {}

    /**
     * The {@code __kernel} function of {@code f} alone. It may call helpers ({@code kiln_floordiv_long},
     * ...) and need pragmas that only {@link #program} prints: that is the source to compile.
     */
    public static String kernel(PrimFunc f) {
        return new KernelPrinter(f, new Names().fresh(f.name()), new Helpers()).print();
    }

    /** The OpenCL names {@link #program} gives {@code functions}' kernels (C identifiers, distinct), in order. */
    public static List<String> kernelNames(List<PrimFunc> functions) {
        Names names = new Names();
        return functions.stream().map(f -> names.fresh(f.name())).toList();
    }

    /** A whole .cl program: the pragmas it needs, the helpers its kernels call, then one kernel per function. */
    public static String program(List<PrimFunc> functions) {
        Names kernelNames = new Names();
        Helpers helpers = new Helpers();
        List<String> kernels = new ArrayList<>();
        boolean f64 = false;
        for (PrimFunc f : functions) {
            KernelPrinter k = new KernelPrinter(f, kernelNames.fresh(f.name()), helpers);
            kernels.add(k.print());
            f64 |= k.usesF64;
        }
        StringBuilder out = new StringBuilder();
        out.append("// OpenCL C 1.2, printed by Kiln from loop IR\n");
        if (f64) out.append("#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n");
        out.append("// no fused multiply-add: a * b + c rounds twice, as in Kiln's interpreter and CPU backend\n");
        out.append("#pragma OPENCL FP_CONTRACT OFF\n\n");
        if (!helpers.isEmpty()) out.append(helpers.source()).append('\n');
        out.append(String.join("\n", kernels));
        return out.toString();
    }
}
