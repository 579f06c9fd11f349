package dev.kiln.schedules.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.analysis.LaunchExtents;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.interp.Interpreter;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Caches;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Runs one op both ways: the reference evaluator on a one-node graph, and the op's native kernel
 * (OpInventory.lower, then the lowering pipeline, then the loop-IR interpreter), and compares
 * every output (rtol 1e-4, atol 1e-5 for floats; exact for integers and bools).
 */
final class OpHarness {
    private static final Caches CACHES = new Caches(32 * 1024, 1024 * 1024, 32 * 1024 * 1024);
    /** AVX2-like: 8 float lanes; 4 cores so parallel loops are planned. */
    static final Target AVX2 = new CpuTarget("test-avx2", CpuTarget.X86_LINUX, "haswell", "+avx2,+fma", 256, 16, CACHES, 4);
    /** AVX-512-like: 16 float lanes. */
    static final Target AVX512 = new CpuTarget("test-avx512", CpuTarget.X86_LINUX, "skylake-avx512", "+avx512f", 512, 32, CACHES, 4);
    /** NEON-like: 4 float lanes, 32 registers, a channel block of 8. */
    static final Target NEON = new CpuTarget("test-neon", CpuTarget.AARCH64_LINUX, "neoverse-n1", "+neon", 128, 32, CACHES, 4);

    /** An OpenCL-like GPU: work-groups of up to 256 threads, 32 KiB of shared memory, 32-wide warps, 4 compute units. */
    static final GpuTarget GPU = new GpuTarget("test-gpu", GpuTarget.Api.OPENCL, "", "", "", 256, 32768, 32, 4);

    private final String op;
    private int opset = 17;
    private final Map<String, Attr> attrs = new LinkedHashMap<>();
    private final List<String> inputNames = new ArrayList<>();
    private final Map<String, Tensor> runtime = new LinkedHashMap<>();
    private final Map<String, Tensor> constants = new LinkedHashMap<>();
    private final List<String> outputs = new ArrayList<>(List.of("y"));
    private Target target = AVX2;
    private Kernel kernel;

    private OpHarness(String op) {
        this.op = op;
    }

    static OpHarness op(String op) {
        return new OpHarness(op);
    }

    private String domain = "";

    /** The node's domain ({@code kiln} for Kiln's own ops); default ONNX. */
    OpHarness domain(String d) {
        domain = d;
        return this;
    }

    OpHarness opset(int v) {
        opset = v;
        return this;
    }

    OpHarness target(Target t) {
        target = t;
        return this;
    }

    OpHarness attr(String name, long v) {
        attrs.put(name, new Attr.Int(v));
        return this;
    }

    OpHarness attr(String name, float v) {
        attrs.put(name, new Attr.Float(v));
        return this;
    }

    OpHarness attr(String name, String v) {
        attrs.put(name, new Attr.Str(v));
        return this;
    }

    OpHarness ints(String name, long... v) {
        attrs.put(name, new Attr.Ints(v));
        return this;
    }

    OpHarness tensorAttr(String name, Tensor t) {
        attrs.put(name, new Attr.TensorAttr(t));
        return this;
    }

    /** A run-time input. */
    OpHarness in(Tensor t) {
        String name = "x" + inputNames.size();
        inputNames.add(name);
        runtime.put(name, t);
        return this;
    }

    /** The same run-time value as an earlier input (e.g. Mul(x, x)). */
    OpHarness sameAs(int earlier) {
        inputNames.add(inputNames.get(earlier));
        return this;
    }

    /** A compile-time constant input (an initializer). */
    OpHarness constant(Tensor t) {
        String name = "c" + inputNames.size();
        inputNames.add(name);
        constants.put(name, t);
        return this;
    }

    /** An omitted optional input. */
    OpHarness none() {
        inputNames.add("");
        return this;
    }

    /** Output names; "" omits an optional output. */
    OpHarness outputs(String... names) {
        outputs.clear();
        outputs.addAll(List.of(names));
        return this;
    }

    Kernel kernel() {
        return kernel;
    }

    /** The run-time inputs by value name. */
    Map<String, Tensor> inputs() {
        return runtime;
    }

    Graph graph() {
        Graph g = new Graph("one_" + op);
        g.opsets().put("", opset);
        for (var e : runtime.entrySet()) g.inputs().add(new Value(e.getKey(), e.getValue().dtype(), e.getValue().shape()));
        g.initializers().putAll(constants);
        // A node name with characters a C identifier cannot hold, to exercise sanitizing.
        g.setNodes(List.of(new Node(op + "/node.0", op, domain, inputNames, outputs, attrs, opset)));
        for (String o : outputs) if (!o.isEmpty()) g.outputs().add(o);
        ShapeInference.run(g);
        return g;
    }

    /** Builds, runs both ways and compares; returns this for inspecting the kernel. */
    OpHarness check() {
        return check(Knobs.defaults());
    }

    /** {@link #check()} with the kernel scheduled by {@code knobs} (a config of its space). */
    OpHarness check(Knobs knobs) {
        Graph g = graph();
        Map<String, Tensor> expected = Evaluator.run(g, runtime);
        Node node = g.nodes().get(0);
        kernel = OpInventory.lower(node, g, target, knobs);
        if (!OpInventory.writtenOut(node) && !dev.kiln.irhigh.ops.Int8MatMul.is(node) && !dev.kiln.irhigh.ops.Bf16MatMul.is(node)) checkReduceLoopsStaySerial(OpInventory.compute(node, g, target), kernel);
        Map<String, Object> got = runKernel(kernel, g, runtime);
        for (String o : g.outputs()) compare(op + " output " + o, expected.get(o), got.get(o));
        // Every op a CPU compiles, the GPU templates compile too (blocked NCHWc ops are CPU-only).
        if (target instanceof CpuTarget && !Blocked.is(node)) {
            Kernel gpu = OpInventory.lower(node, g, GPU);
            checkGpuKernel(gpu);
            runAndCompare(op + " on " + GPU.name(), gpu, g, runtime, expected);
        }
        return this;
    }

    /**
     * What a GPU backend needs of a kernel: constant launch extents that agree across its nests,
     * before and after the lowering pipeline, and no CPU-parallel loop (threads are the bound
     * loops). Vectorized loops are fine: a thread's vector types (reduce loops stay serial, which
     * checkReduceLoopsStaySerial checks).
     */
    static void checkGpuKernel(Kernel k) {
        LaunchExtents before = LaunchExtents.of(k.func()), after = LaunchExtents.of(Pipeline.lower(k.func()));
        assertEquals(before, after, k.func().name() + ": the lowering pipeline changed the launch extents");
        assertTrue(before.block().total() <= GPU.maxThreadsPerBlock(), k.func().name() + ": " + before.block() + " threads per block");
        for (dev.kiln.irlow.stmt.Stmt.For f : dev.kiln.irlow.transform.Vars.loops(k.func().body()))
            if (f.kind() == dev.kiln.irlow.stmt.ForKind.PARALLEL)
                fail("loop " + f.var().name() + " of GPU kernel " + k.func().name() + " is " + f.kind());
    }

    /**
     * Runs {@code k} (a kernel of a node of {@code g}) through the lowering pipeline and the
     * interpreter on {@code runtime} and the graph's initializers, and compares each output with
     * {@code expected}; {@code what} names the run in failures.
     */
    static void runAndCompare(String what, Kernel k, Graph g, Map<String, Tensor> runtime, Map<String, Tensor> expected) {
        Map<String, Object> got = runKernel(k, g, runtime);
        for (String o : k.outputs()) compare(what + " output " + o, expected.get(o), got.get(o));
    }

    /**
     * A reduce loop accumulates into one element per iteration, so running it in parallel or as
     * vector lanes would race or mix partial sums: no default schedule may do either.
     */
    static void checkReduceLoopsStaySerial(OpCompute c, Kernel k) {
        java.util.Set<String> reduce = new java.util.HashSet<>();
        for (dev.kiln.irlow.te.Compute comp : DefaultSchedules.materialized(c))
            if (comp.body() instanceof dev.kiln.irlow.expr.Expr.Reduce r) for (var v : r.axes()) reduce.add(v.name());
        for (dev.kiln.irlow.stmt.Stmt.For f : dev.kiln.irlow.transform.Vars.loops(k.func().body())) {
            boolean isReduce = reduce.stream().anyMatch(r -> f.var().name().equals(r) || f.var().name().startsWith(r + "."));
            if (isReduce && (f.kind() == dev.kiln.irlow.stmt.ForKind.PARALLEL || f.kind() == dev.kiln.irlow.stmt.ForKind.VECTORIZED))
                fail("reduce loop " + f.var().name() + " of " + k.func().name() + " is " + f.kind());
        }
    }

    /** Runs a kernel on the graph's inputs and initializers; returns each output's storage by value name. */
    static Map<String, Object> runKernel(Kernel k, Graph g, Map<String, Tensor> runtime) {
        PrimFunc f = Pipeline.lower(k.func());
        List<Object> args = new ArrayList<>();
        for (int i = 0; i < k.inputs().size(); i++) {
            String name = k.inputs().get(i);
            Tensor t = runtime.containsKey(name) ? runtime.get(name) : g.initializers().get(name);
            if (t == null) fail("kernel input " + name + " is neither a graph input nor an initializer");
            args.add(storageCopy(t));
        }
        Map<String, Object> outs = new LinkedHashMap<>();
        for (int i = 0; i < k.outputs().size(); i++) {
            Buffer b = f.params().get(k.inputs().size() + i);
            Object s = Interpreter.newStorage(b);
            fillGarbage(s);
            outs.put(k.outputs().get(i), s);
            args.add(s);
        }
        Interpreter.run(f, args);
        return outs;
    }

    /** Output buffers start as garbage so a kernel that skips elements fails. */
    private static void fillGarbage(Object s) {
        switch (s) {
            case float[] a -> java.util.Arrays.fill(a, Float.NaN);
            case double[] a -> java.util.Arrays.fill(a, Double.NaN);
            case long[] a -> java.util.Arrays.fill(a, 0x5a5a5a5aL);
            default -> throw new IllegalStateException();
        }
    }

    private static Object storageCopy(Tensor t) {
        return switch (t.dtype()) {
            case FLOAT32, FLOAT16 -> t.floats().clone();
            case FLOAT64 -> t.doubles().clone();
            default -> t.longs().clone();
        };
    }

    private static void compare(String name, Tensor want, Object got) {
        if (want == null) fail(name + ": the evaluator computed no such value");
        String where = name + " " + want.dtype().numpyName + want.shape();
        switch (got) {
            case float[] a -> {
                float[] w = want.floats();
                assertEquals(w.length, a.length, where + ": size");
                for (int i = 0; i < w.length; i++) close(where, i, w[i], a[i]);
            }
            case double[] a -> {
                double[] w = want.doubles();
                assertEquals(w.length, a.length, where + ": size");
                for (int i = 0; i < w.length; i++) close(where, i, w[i], a[i]);
            }
            case long[] a -> {
                long[] w = want.longs();
                assertEquals(w.length, a.length, where + ": size");
                for (int i = 0; i < w.length; i++)
                    if (w[i] != a[i]) fail(where + ": element " + i + " is " + a[i] + ", expected " + w[i]);
            }
            default -> fail("unexpected storage " + got);
        }
    }

    private static void close(String where, int i, double want, double got) {
        if (Double.isNaN(want) && Double.isNaN(got)) return;
        if (want == got) return; // infinities
        if (!(Math.abs(want - got) <= 1e-5 + 1e-4 * Math.abs(want)))
            fail(where + ": element " + i + " is " + got + ", expected " + want);
    }

    // ---- random data ----

    static final Random RNG = new Random(42);

    /** Uniform in [-2, 2). */
    static Tensor rand(int... dims) {
        return randIn(-2, 2, dims);
    }

    static Tensor randIn(double lo, double hi, int... dims) {
        Shape s = new Shape(dims);
        float[] v = new float[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * RNG.nextDouble());
        return Tensor.ofFloats(s, v);
    }

    static Tensor randF64(int... dims) {
        Shape s = new Shape(dims);
        double[] v = new double[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = -2 + 4 * RNG.nextDouble();
        return Tensor.ofDoubles(s, v);
    }

    /** Integers in [lo, hi] of the given type. */
    static Tensor randInt(DType t, long lo, long hi, int... dims) {
        Shape s = new Shape(dims);
        long[] v = new long[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = lo + (long) (RNG.nextDouble() * (hi - lo + 1));
        return Tensor.of(t, s, v);
    }

    static Tensor randBool(int... dims) {
        return randInt(DType.BOOL, 0, 1, dims);
    }

    static Tensor longs(long... v) {
        return Tensor.ofLongs(new Shape(v.length), v);
    }

    static Tensor scalar(float v) {
        return Tensor.ofFloats(Shape.SCALAR, v);
    }
}
