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
import java.util.List;

/**
 * The executor's description for the backend: its C name, input and output tensors, embedded
 * constants, workspace size, the kernels and one call per kernel with its buffers from the memory
 * plan, and the JSON metadata the library carries (names, dtypes and shapes of inputs and outputs).
 */
public final class BuildModuleSpec {
    private BuildModuleSpec() {}

    public static ModuleSpec run(Graph g, List<Kernel> kernels, PlanMemory.MemoryPlan memory) {
        List<ModuleSpec.KernelCall> calls = new ArrayList<>();
        for (Kernel k : kernels) {
            List<Arg> args = new ArrayList<>();
            for (String v : k.inputs()) args.add(memory.arg(v, k));
            for (String v : k.outputs()) args.add(memory.arg(v, k));
            calls.add(new ModuleSpec.KernelCall(k.func().name(), args, k.info()));
        }
        List<ModuleSpec.TensorSpec> ins = g.inputs().stream().map(v -> spec(v, null)).toList();
        List<ModuleSpec.TensorSpec> outs = g.outputs().stream().map(o -> spec(g.value(o), shapeOutput(g, o))).toList();
        return new ModuleSpec(cName(g.name()), ins, outs, memory.constants(), memory.workspaceBytes(),
                kernels.stream().map(Kernel::func).toList(), calls, metadata(ins, outs));
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
