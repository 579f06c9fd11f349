package dev.kiln.codegen.executor;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.irhigh.Graph;
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
        List<ModuleSpec.TensorSpec> ins = g.inputs().stream().map(BuildModuleSpec::spec).toList();
        List<ModuleSpec.TensorSpec> outs = g.outputs().stream().map(o -> spec(g.value(o))).toList();
        return new ModuleSpec(cName(g.name()), ins, outs, memory.constants(), memory.workspaceBytes(),
                kernels.stream().map(Kernel::func).toList(), calls, metadata(ins, outs));
    }

    private static ModuleSpec.TensorSpec spec(Value v) {
        List<Long> shape = new ArrayList<>();
        for (int d : v.shape().dims()) shape.add((long) d);
        return new ModuleSpec.TensorSpec(v.name(), OpInventory.scalarType(v.dtype()), shape);
    }

    private static String metadata(List<ModuleSpec.TensorSpec> ins, List<ModuleSpec.TensorSpec> outs) {
        JsonObject o = new JsonObject();
        o.add("inputs", specsJson(ins));
        o.add("outputs", specsJson(outs));
        return o.toString();
    }

    private static JsonArray specsJson(List<ModuleSpec.TensorSpec> specs) {
        JsonArray a = new JsonArray();
        for (var s : specs) {
            JsonObject t = new JsonObject();
            t.addProperty("name", s.name());
            t.addProperty("dtype", ModuleSpec.dtypeName(s.dtype()));
            JsonArray shape = new JsonArray();
            s.shape().forEach(shape::add);
            t.add("shape", shape);
            a.add(t);
        }
        return a;
    }

    /** A C identifier from a model name. */
    static String cName(String s) {
        String r = s == null || s.isEmpty() ? "model" : s.replaceAll("[^A-Za-z0-9_]", "_");
        return Character.isDigit(r.charAt(0)) ? "m_" + r : r;
    }
}
