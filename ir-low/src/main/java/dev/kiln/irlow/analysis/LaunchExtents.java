package dev.kiln.irlow.analysis;

import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Printer;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Simplify;
import dev.kiln.irlow.transform.Vars;
import java.util.EnumMap;
import java.util.Map;

/**
 * The launch shape of a kernel whose loops are bound to GPU axes: how many blocks
 * (work-groups) in {@code grid} and how many threads per block in {@code block}, per axis. A GPU
 * backend passes them to {@code cuLaunchKernel} / {@code clEnqueueNDRangeKernel}, so they must be
 * known when the kernel is compiled. An axis no loop is bound to has extent 1.
 */
public record LaunchExtents(Dim3 grid, Dim3 block) {
    /** Extents along x, y and z. */
    public record Dim3(long x, long y, long z) {
        public long total() {
            return x * y * z;
        }
    }

    /** The launch of a kernel with no GPU-bound loops: one block of one thread. */
    public static final LaunchExtents SINGLE = new LaunchExtents(new Dim3(1, 1, 1), new Dim3(1, 1, 1));

    /**
     * The extents of {@code f}'s GPU-bound loops. Several loops may bind the same axis (two thread
     * loops of one block, around a barrier) as long as they agree on its extent.
     *
     * @throws IllegalArgumentException naming the loop, if a bound loop's extent is not a positive
     *     compile-time constant or disagrees with another loop bound to the same axis
     */
    public static LaunchExtents of(PrimFunc f) {
        Map<ForKind, Long> extents = new EnumMap<>(ForKind.class);
        Map<ForKind, String> boundBy = new EnumMap<>(ForKind.class);
        for (Stmt.For loop : Vars.loops(f.body())) {
            ForKind kind = loop.kind();
            if (!kind.isGpu()) continue;
            String name = loop.var().name();
            String what = "kernel " + f.name() + ": loop " + name + " is bound to " + kind;
            Expr ext = Simplify.expr(loop.extent());
            if (!(ext instanceof Expr.IntImm(var t, long n)))
                throw new IllegalArgumentException(what + " with extent " + Printer.print(loop.extent())
                        + ", which is not a compile-time constant; a GPU launch needs constant extents (split the loop by a constant first)");
            if (n < 1) throw new IllegalArgumentException(what + " with extent " + n + "; a launch extent must be at least 1");
            Long before = extents.putIfAbsent(kind, n);
            if (before == null) boundBy.put(kind, name);
            else if (before != n)
                throw new IllegalArgumentException(what + " with extent " + n + " but loop " + boundBy.get(kind)
                        + " binds it with extent " + before + "; every loop bound to one GPU axis must have the same extent");
        }
        return new LaunchExtents(
                new Dim3(get(extents, ForKind.GPU_BLOCK_X), get(extents, ForKind.GPU_BLOCK_Y), get(extents, ForKind.GPU_BLOCK_Z)),
                new Dim3(get(extents, ForKind.GPU_THREAD_X), get(extents, ForKind.GPU_THREAD_Y), get(extents, ForKind.GPU_THREAD_Z)));
    }

    private static long get(Map<ForKind, Long> extents, ForKind axis) {
        return extents.getOrDefault(axis, 1L);
    }
}
