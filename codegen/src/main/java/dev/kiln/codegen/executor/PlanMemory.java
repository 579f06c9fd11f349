package dev.kiln.codegen.executor;

import dev.kiln.codegen.MemoryPlanner;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Value;
import dev.kiln.schedules.ops.Kernel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Binds every value the kernels read or write to memory: graph inputs and outputs to the caller's
 * buffers, constants some kernel reads to embedded data (in order of first use; a weight no kernel
 * reads is dropped), and everything else to a slot of one workspace, where values whose lives
 * (first write to last read, in call order) do not overlap share bytes ({@link MemoryPlanner}).
 */
public final class PlanMemory {
    private PlanMemory() {}

    /**
     * Where each value lives, the embedded constants, and the figures: {@code intermediateBytes}
     * for the graph's intermediate tensors, {@code scratchBytes} for the buffers {@link HoistScratch}
     * took out of kernels, both planned into {@code workspaceBytes}.
     */
    public record MemoryPlan(Map<String, Arg> args, List<ModuleSpec.Constant> constants, long workspaceBytes,
                             long intermediateBytes, long scratchBytes) {
        public MemoryPlan {
            args = Map.copyOf(args);
            constants = List.copyOf(constants);
        }

        /** The buffer kernel {@code k} gets for value {@code v}. */
        public Arg arg(String v, Kernel k) {
            Arg a = args.get(v);
            if (a == null) throw new KilnException("internal error: value '" + v + "' of kernel " + k.func().name() + " has no buffer");
            return a;
        }
    }

    public static MemoryPlan run(Graph g, List<Kernel> kernels) {
        Map<String, Arg> bound = new HashMap<>();
        for (int i = 0; i < g.inputs().size(); i++) bound.put(g.inputs().get(i).name(), new Arg.Input(i));
        // An output value is written by its producer straight into the caller's buffer; a value
        // listed twice, or one that is an input or constant, is written by its own copy kernel.
        for (int i = 0; i < g.outputs().size(); i++) bound.putIfAbsent(ScheduleKernels.outputValue(g, i), new Arg.Output(i));

        List<ModuleSpec.Constant> constants = new ArrayList<>();
        Map<String, Integer> firstUse = new LinkedHashMap<>();
        Map<String, Integer> lastUse = new HashMap<>();
        for (int c = 0; c < kernels.size(); c++) {
            Kernel k = kernels.get(c);
            for (String v : k.inputs()) {
                if (!bound.containsKey(v) && g.isConstant(v)) {
                    bound.put(v, new Arg.Const(constants.size()));
                    constants.add(new ModuleSpec.Constant(v, g.initializers().get(v).toBytes()));
                }
                lastUse.put(v, c);
            }
            for (String v : k.outputs()) {
                firstUse.putIfAbsent(v, c);
                lastUse.merge(v, c, Math::max);
            }
            // A guard's condition is read when the call is made.
            for (Graph.Guard guard : KernelGuards.of(g, k)) lastUse.merge(guard.cond(), c, Math::max);
        }
        List<MemoryPlanner.Interval> intervals = new ArrayList<>();
        long intermediateBytes = 0, scratchBytes = 0;
        for (var e : firstUse.entrySet()) {
            if (bound.containsKey(e.getKey())) continue;
            long bytes = bytesOf(g.value(e.getKey()));
            if (HoistScratch.isScratch(e.getKey())) scratchBytes += bytes;
            else intermediateBytes += bytes;
            intervals.add(new MemoryPlanner.Interval(e.getKey(), bytes, e.getValue(), lastUse.get(e.getKey())));
        }
        MemoryPlanner.Plan memory = MemoryPlanner.plan(intervals);
        memory.offsets().forEach((v, off) -> bound.put(v, new Arg.Workspace(off)));
        return new MemoryPlan(bound, constants, memory.totalBytes(), intermediateBytes, scratchBytes);
    }

    private static long bytesOf(Value v) {
        return v.shape().numel() * v.dtype().byteSize;
    }
}
