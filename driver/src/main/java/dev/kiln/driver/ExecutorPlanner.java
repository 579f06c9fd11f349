package dev.kiln.driver;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.codegen.MemoryPlanner;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Value;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.lower.LoweringPipeline;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.schedules.ops.Kernel;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Turns an optimized graph into the executor's description: one scheduled kernel per node (a
 * fused group from FuseOps is one node), in order, with every tensor bound to a caller buffer, an
 * embedded constant or a workspace slot of the static memory plan (buffers reuse memory once
 * their last reader has run).
 */
public final class ExecutorPlanner {
    private ExecutorPlanner() {}

    /** The plan and the figures that describe it. */
    /**
     * {@code intermediateBytes}: the graph's intermediate tensors; {@code scratchBytes}: the buffers
     * kernels materialize once per call (padded copies), planned in the same workspace.
     */
    public record Plan(ModuleSpec spec, long workspaceBytes, long intermediateBytes, long scratchBytes) {}

    public static Plan plan(Graph g, Target target, BiConsumer<String, PrimFunc> dumpKernel) {
        return plan(g, target, ConfigSource.DEFAULTS, dumpKernel);
    }

    /** The plan with each kernel scheduled by the knob values {@code configs} gives for its node. */
    public static Plan plan(Graph g, Target target, ConfigSource configs, BiConsumer<String, PrimFunc> dumpKernel) {
        List<Kernel> kernels = new ArrayList<>();
        Map<String, Integer> nameCount = new HashMap<>();
        for (Node node : g.nodes()) {
            Kernel k = OpInventory.lower(node, g, target, configs.knobsFor(node, g, target));
            String name = unique(k.func().name(), nameCount);
            PrimFunc f = LoweringPipeline.run(k.func(), (step, fn) -> dumpKernel.accept(name + "." + step, fn));
            kernels.add(withScratch(new Kernel(new PrimFunc(name, f.params(), f.body()), k.inputs(), k.outputs()), g));
        }
        kernels.addAll(outputCopies(g, nameCount));

        Map<String, Arg> bound = new HashMap<>();
        for (int i = 0; i < g.inputs().size(); i++) bound.put(g.inputs().get(i).name(), new Arg.Input(i));
        // An output value is written by its producer straight into the caller's buffer; a value
        // listed twice, or one that is an input or constant, gets its own copy kernel (outputCopies).
        for (int i = 0; i < g.outputs().size(); i++) bound.putIfAbsent(copyTarget(g, i), new Arg.Output(i));

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
        }
        List<MemoryPlanner.Interval> intervals = new ArrayList<>();
        long intermediateBytes = 0, scratchBytes = 0;
        for (var e : firstUse.entrySet()) {
            if (bound.containsKey(e.getKey())) continue;
            long bytes = bytesOf(g.value(e.getKey()));
            if (e.getKey().startsWith(SCRATCH)) scratchBytes += bytes;
            else intermediateBytes += bytes;
            intervals.add(new MemoryPlanner.Interval(e.getKey(), bytes, e.getValue(), lastUse.get(e.getKey())));
        }
        MemoryPlanner.Plan memory = MemoryPlanner.plan(intervals);
        memory.offsets().forEach((v, off) -> bound.put(v, new Arg.Workspace(off)));

        List<ModuleSpec.KernelCall> calls = new ArrayList<>();
        for (Kernel k : kernels) {
            List<Arg> args = new ArrayList<>();
            for (String v : k.inputs()) args.add(argOf(bound, v, k));
            for (String v : k.outputs()) args.add(argOf(bound, v, k));
            calls.add(new ModuleSpec.KernelCall(k.func().name(), args));
        }
        List<ModuleSpec.TensorSpec> ins = g.inputs().stream().map(ExecutorPlanner::spec).toList();
        List<ModuleSpec.TensorSpec> outs = g.outputs().stream().map(o -> spec(g.value(o))).toList();
        ModuleSpec spec = new ModuleSpec(cName(g.name()), ins, outs, constants, memory.totalBytes(),
                kernels.stream().map(Kernel::func).toList(), calls, metadata(ins, outs));
        return new Plan(spec, memory.totalBytes(), intermediateBytes, scratchBytes);
    }

    /**
     * The kernel with its local buffers that are allocated once per call (outside every loop: a
     * padded copy, a whole-output accumulator) turned into extra parameters bound to workspace
     * slots that live for that kernel only. Allocated in the kernel, each call would take them
     * from malloc, and a large block comes back as fresh pages (mmap, or a trimmed heap) whose
     * page faults cost milliseconds per run; from the workspace they are memory planned like any
     * intermediate. Buffers allocated inside loops (per-tile accumulators) stay where they are.
     */
    private static final String SCRATCH = "__scratch:";

    private static Kernel withScratch(Kernel k, Graph g) {
        List<Buffer> scratch = new ArrayList<>();
        Stmt body = hoist(k.func().body(), scratch);
        if (scratch.isEmpty()) return k;
        List<Buffer> params = new ArrayList<>(k.func().params());
        List<String> outputs = new ArrayList<>(k.outputs());
        for (Buffer b : scratch) {
            String value = SCRATCH + k.func().name() + ":" + b.name();
            g.values().put(value, new Value(value, dtypeOf(b.dtype()), dev.kiln.irhigh.Shape.of(b.size())));
            params.add(b);
            outputs.add(value);
        }
        return new Kernel(new PrimFunc(k.func().name(), params, body), k.inputs(), outputs);
    }

    /** {@code s} without the allocations that are not inside a loop, which are added to {@code out}. */
    private static Stmt hoist(Stmt s, List<Buffer> out) {
        return switch (s) {
            case Stmt.Allocate a -> {
                out.add(a.buffer());
                yield hoist(a.body(), out);
            }
            case Stmt.For f -> f;
            default -> dev.kiln.irlow.transform.Children.map(s, c -> hoist(c, out), e -> e);
        };
    }

    private static dev.kiln.irhigh.DType dtypeOf(ScalarType t) {
        for (dev.kiln.irhigh.DType d : dev.kiln.irhigh.DType.values()) {
            try {
                if (OpInventory.scalarType(d) == t) return d;
            } catch (RuntimeException e) {
                // a graph type with no loop-IR type
            }
        }
        throw new KilnException("internal error: no tensor type for loop-IR type " + t);
    }

    /** The name under which graph output i is produced: the value itself, or a fresh copy of it. */
    private static String copyTarget(Graph g, int i) {
        String v = g.outputs().get(i);
        return needsCopy(g, i) ? "__output" + i : v;
    }

    private static boolean needsCopy(Graph g, int i) {
        String v = g.outputs().get(i);
        boolean isInput = g.inputs().stream().anyMatch(x -> x.name().equals(v));
        return isInput || g.isConstant(v) || g.outputs().subList(0, i).contains(v);
    }

    private static List<Kernel> outputCopies(Graph g, Map<String, Integer> nameCount) {
        List<Kernel> r = new ArrayList<>();
        for (int i = 0; i < g.outputs().size(); i++) {
            if (!needsCopy(g, i)) continue;
            Value v = g.value(g.outputs().get(i));
            String target = copyTarget(g, i);
            g.values().put(target, new Value(target, v.dtype(), v.shape()));
            ScalarType t = OpInventory.scalarType(v.dtype());
            Buffer src = new Buffer("src", t, v.shape().numel());
            Buffer dst = new Buffer("dst", t, v.shape().numel());
            Expr.Var idx = Exprs.var("i");
            Stmt body = new Stmt.For(idx, Exprs.idx(0), Exprs.idx(v.shape().numel()), ForKind.SERIAL,
                    new Stmt.Store(dst, idx, new Expr.Load(src, idx)));
            String name = unique("k_copy_output" + i, nameCount);
            r.add(new Kernel(new PrimFunc(name, List.of(src, dst), body), List.of(v.name()), List.of(target)));
        }
        return r;
    }

    private static Arg argOf(Map<String, Arg> bound, String v, Kernel k) {
        Arg a = bound.get(v);
        if (a == null) throw new KilnException("internal error: value '" + v + "' of kernel " + k.func().name() + " has no buffer");
        return a;
    }

    private static String unique(String base, Map<String, Integer> count) {
        int n = count.merge(base, 1, Integer::sum);
        return n == 1 ? base : base + "_" + n;
    }

    private static long bytesOf(Value v) {
        return v.shape().numel() * v.dtype().byteSize;
    }

    static ModuleSpec.TensorSpec spec(Value v) {
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
