package dev.kiln.codegen.executor;

import dev.kiln.codegen.ModuleSpec;
import dev.kiln.irhigh.Graph;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.schedules.ops.Kernel;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * Lowers an optimized graph to the executor's description, one pass per step: schedule one
 * kernel per node (and the output copies), the backend's own lowering of each kernel, hoist
 * once-per-call scratch buffers out of the kernels,
 * plan the memory every value lives in, build the module.
 */
public final class ExecutorLowering {
    private ExecutorLowering() {}

    /**
     * The module and the figures that describe it: {@code intermediateBytes} for the graph's
     * intermediate tensors, {@code scratchBytes} for the buffers kernels materialize once per call
     * (padded copies), both planned into a workspace of {@code workspaceBytes}.
     */
    public record Plan(ModuleSpec spec, long workspaceBytes, long intermediateBytes, long scratchBytes) {}

    /** Every kernel on its heuristic default schedule. */
    public static Plan run(Graph g, Target target, BiConsumer<String, PrimFunc> dump) {
        return run(g, target, ConfigSource.DEFAULTS, dump);
    }

    /**
     * Each kernel scheduled by the knob values {@code configs} gives for its node; {@code dump}
     * receives each kernel after every lowering step, as {@code <kernel>.<step>}.
     */
    public static Plan run(Graph g, Target target, ConfigSource configs, BiConsumer<String, PrimFunc> dump) {
        return run(g, target, configs, UnaryOperator.identity(), dump);
    }

    /**
     * As above, with {@code backendLowering} (a {@link dev.kiln.codegen.Backend#lower}) applied to
     * every kernel after the common lowering steps: where a backend rewrites loops for its target.
     */
    public static Plan run(Graph g, Target target, ConfigSource configs, UnaryOperator<PrimFunc> backendLowering,
                           BiConsumer<String, PrimFunc> dump) {
        List<Kernel> kernels = ScheduleKernels.run(g, target, configs, dump);
        kernels = kernels.stream().map(k -> k.withFunc(backendLowering.apply(k.func()))).toList();
        kernels = HoistScratch.run(kernels, g);
        PlanMemory.MemoryPlan memory = PlanMemory.run(g, kernels);
        ModuleSpec spec = BuildModuleSpec.run(g, kernels, memory);
        return new Plan(spec, memory.workspaceBytes(), memory.intermediateBytes(), memory.scratchBytes());
    }
}
