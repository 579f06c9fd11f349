package dev.kiln.codegen.executor;

import com.google.gson.JsonObject;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.ops.DataDependent;
import dev.kiln.irhigh.Value;
import dev.kiln.schedules.ops.Kernel;
import dev.kiln.schedules.ops.OpInventory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The executor's description for the backend: its C name, input and output tensors, embedded
 * constants, workspace size, the kernels and one call per kernel with its buffers from the memory
 * plan, and the JSON metadata the library carries (names, dtypes and shapes of inputs and outputs).
 */
public final class BuildModuleSpec {
    private BuildModuleSpec() {}

    public static ModuleSpec run(Graph g, List<Kernel> kernels, PlanMemory.MemoryPlan memory) {
        List<ModuleSpec.KernelCall> calls = new ArrayList<>();
        Map<String, Integer> writtenBy = new HashMap<>();
        for (Kernel k : kernels) {
            List<Arg> args = new ArrayList<>();
            for (String v : k.inputs()) args.add(memory.arg(v, k));
            for (String v : k.outputs()) args.add(memory.arg(v, k));
            calls.add(new ModuleSpec.KernelCall(k.func().name(), args, k.info(), guards(g, k, memory, writtenBy, calls.size())));
            for (String v : k.outputs()) writtenBy.putIfAbsent(v, calls.size() - 1);
        }
        List<ModuleSpec.TensorSpec> ins = g.inputs().stream().map(v -> spec(v, null)).toList();
        List<ModuleSpec.TensorSpec> outs = g.outputs().stream().map(o -> spec(g.value(o), shapeOutput(g, o))).toList();
        return new ModuleSpec(cName(g.name()), ins, outs, memory.constants(), memory.workspaceBytes(),
                kernels.stream().map(Kernel::func).toList(), calls, metadata(ins, outs));
    }

    /**
     * The guards of call {@code c}, each on a condition that has a buffer and is written before
     * the call (a graph input, or an earlier kernel's output). Dropping a guard only makes a call
     * run more often, and a later guard of the list may then read a condition the skipped branch
     * never wrote: harmless, since the call's outputs are not needed then either way.
     */
    private static List<ModuleSpec.Guard> guards(Graph g, Kernel k, PlanMemory.MemoryPlan memory, Map<String, Integer> writtenBy, int c) {
        List<ModuleSpec.Guard> r = new ArrayList<>();
        for (Graph.Guard guard : KernelGuards.of(g, k)) {
            Arg cond = memory.args().get(guard.cond());
            boolean ready = cond instanceof Arg.Input || cond instanceof Arg.Const || writtenBy.getOrDefault(guard.cond(), c) < c;
            if (cond != null && ready && g.value(guard.cond()).shape().numel() == 1) r.add(new ModuleSpec.Guard(cond, guard.when()));
        }
        return r;
    }

    private static ModuleSpec.TensorSpec spec(Value v, String shapeOutput) {
        List<Long> shape = new ArrayList<>();
        for (int d : v.shape().dims()) shape.add((long) d);
        return new ModuleSpec.TensorSpec(v.name(), OpInventory.scalarType(v.dtype()), shape, shapeOutput == null ? "" : shapeOutput);
    }

    private static String metadata(List<ModuleSpec.TensorSpec> ins, List<ModuleSpec.TensorSpec> outs) {
        JsonObject o = new JsonObject();
        o.add("inputs", ModuleSpec.tensorsJson(ins));
        o.add("outputs", ModuleSpec.tensorsJson(outs));
        return o.toString();
    }

    /**
     * The companion output that carries the actual shape of graph output {@code name}, when the
     * data decides its length ({@link DataDependent}); null for every other output.
     */
    static String shapeOutput(Graph g, String name) {
        String shape = DataDependent.shapeOutput(name);
        if (!g.outputs().contains(shape)) return null;
        Node producer = g.producer(name);
        return producer != null && producer == g.producer(shape) ? shape : null;
    }

    /** A C identifier from a model name. */
    static String cName(String s) {
        String r = s == null || s.isEmpty() ? "model" : s.replaceAll("[^A-Za-z0-9_]", "_");
        return Character.isDigit(r.charAt(0)) ? "m_" + r : r;
    }
}
