package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.executor.ExecutorLowering;
import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.GraphPipeline;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.ModelSource;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.ControlFlow;
import dev.kiln.targets.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An If whose condition is only known at run time (the sign of the input's sum), with a
 * MatMul-Relu-MatMul branch and a Sigmoid-MatMul branch: the library gives ONNX Runtime's
 * result for either sign, and its executor calls each branch's kernels under that branch's guard,
 * so a run computes only the branch taken.
 */
class RuntimeBranchesTest {
    private static final int N = 64;

    @TempDir
    Path dir;

    private static Graph branch(String name, List<Node> nodes, String out, Map<String, Tensor> weights) {
        Graph b = new Graph(name);
        nodes.forEach(b.nodes()::add);
        b.initializers().putAll(weights);
        b.outputs().add(out);
        b.values().put(out, new Value(out, DType.FLOAT32, new Shape(N, N)));
        return b;
    }

    private static Graph model() {
        SplittableRandom rng = new SplittableRandom(29);
        java.util.function.Supplier<Tensor> weight = () -> Tensor.generate(DType.FLOAT32, new Shape(N, N), i -> rng.nextDouble(-0.2, 0.2));
        Graph then = branch("then", List.of(new Node("t1", "MatMul", "", List.of("x", "w1"), List.of("t1"), Map.of(), 16),
                new Node("t2", "Relu", "", List.of("t1"), List.of("t2"), Map.of(), 16),
                new Node("t3", "MatMul", "", List.of("t2", "w2"), List.of("t3"), Map.of(), 16)), "t3", Map.of("w1", weight.get(), "w2", weight.get()));
        Graph otherwise = branch("else", List.of(new Node("e1", "Sigmoid", "", List.of("x"), List.of("e1"), Map.of(), 16),
                new Node("e2", "MatMul", "", List.of("e1", "w3"), List.of("e2"), Map.of(), 16)), "e2", Map.of("w3", weight.get()));
        Graph g = new Graph("runtime_if");
        g.opsets().put("", 16);
        Value x = new Value("x", DType.FLOAT32, new Shape(N, N));
        g.inputs().add(x);
        g.values().put("x", x);
        g.initializers().put("zero", Tensor.ofFloats(Shape.SCALAR, 0));
        g.setNodes(List.of(new Node("sum", "ReduceSum", "", List.of("x"), List.of("s"), Map.of("keepdims", new Attr.Int(0)), 16),
                new Node("positive", "Greater", "", List.of("s", "zero"), List.of("cond"), Map.of(), 16),
                new Node("if", "If", "", List.of("cond"), List.of("y"),
                        Map.of("then_branch", new Attr.GraphAttr(then), "else_branch", new Attr.GraphAttr(otherwise)), 16)));
        g.outputs().add("y");
        return g;
    }

    /** The model as ONNX; its values typed by hand, since shape inference needs the If expanded first. */
    private Path write() throws Exception {
        Graph m = model();
        m.values().put("s", new Value("s", DType.FLOAT32, Shape.SCALAR));
        m.values().put("cond", new Value("cond", DType.BOOL, Shape.SCALAR));
        m.values().put("y", new Value("y", DType.FLOAT32, new Shape(N, N)));
        Path file = dir.resolve("runtime_if.onnx");
        Files.write(file, OnnxWriter.write(m, OnnxWriter.IR_VERSION));
        return file;
    }

    @Test
    void eitherBranchMatchesOnnxRuntime() throws Exception {
        Path file = write(), so = dir.resolve("runtime_if.so");
        Compiler.compile(file.toString(), so, new Compiler.Options(Target.host(), Map.of(), null, false));
        Graph reference = ModelSource.load(file.toString(), Map.of());
        ControlFlow.run(reference);
        ShapeInference.run(reference);
        SplittableRandom rng = new SplittableRandom(31);
        try (KilnLibrary kiln = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(Files.readAllBytes(file), 1)) {
            for (double shift : new double[] {0.2, -0.2, 0.3, -0.3}) {
                Map<String, Tensor> feed = Map.of("x", Tensor.generate(DType.FLOAT32, new Shape(N, N), i -> rng.nextDouble(-1, 1) + shift));
                Tensor expected = ort.run(feed).get("y");
                for (var got : Map.of("native", kiln.run(feed).get("y"), "reference", Evaluator.run(reference, feed).get("y")).entrySet()) {
                    Compare c = Compare.of(got.getValue(), expected, 1e-5, 1e-4);
                    assertTrue(c.ok(), "shift " + shift + ", " + got.getKey() + ": " + c.detail());
                }
            }
        }
    }

    @Test
    void eachBranchsKernelsRunUnderItsGuard() throws Exception {
        Path file = write();
        Target host = Target.parse("x86_64-avx512");
        Graph g = GraphPipeline.run(ModelSource.load(file.toString(), Map.of()), host, (pass, graph) -> {});
        ModuleSpec spec = ExecutorLowering.run(g, host, (name, fn) -> {}).spec();
        long whenTrue = spec.calls().stream().filter(c -> c.guards().size() == 1 && c.guards().getFirst().when()).count();
        long whenFalse = spec.calls().stream().filter(c -> c.guards().size() == 1 && !c.guards().getFirst().when()).count();
        long always = spec.calls().stream().filter(c -> c.guards().isEmpty()).count();
        assertTrue(whenTrue >= 2 && whenFalse >= 1, "guarded calls: " + whenTrue + " when true, " + whenFalse + " when false, of "
                + spec.calls().size() + " (" + spec.calls().stream().map(c -> c.kernel() + c.guards()).toList() + ")");
        assertTrue(always >= 2, "the condition and the selection run always: " + always);
    }

    /**
     * A Loop of at most 20 iterations that stops when a running value's sum passes a threshold
     * (known only at run time): acc = tanh(acc @ w + x) while sum(acc) < limit. The library gives
     * ONNX Runtime's result for limits that stop it after 1, 3, 4 or all 20 iterations.
     */
    @Test
    void aLoopThatStopsOnItsDataMatchesOnnxRuntime() throws Exception {
        Graph body = new Graph("body");
        body.inputs().addAll(List.of(new Value("i", DType.INT64, Shape.SCALAR), new Value("c", DType.BOOL, Shape.SCALAR),
                new Value("acc", DType.FLOAT32, new Shape(1, N))));
        body.inputs().forEach(v -> body.values().put(v.name(), v));
        // acc_k+1 = tanh(acc_k / 2 + x) rises to a fixed point, so the limit decides the iteration it stops at.
        body.initializers().put("w", Tensor.generate(DType.FLOAT32, new Shape(N, N), i -> i / N == i % N ? 0.5 : 0));
        body.setNodes(List.of(new Node("mm", "MatMul", "", List.of("acc", "w"), List.of("p"), Map.of(), 16),
                new Node("add", "Add", "", List.of("p", "x"), List.of("q"), Map.of(), 16),
                new Node("tanh", "Tanh", "", List.of("q"), List.of("acc2"), Map.of(), 16),
                new Node("sum", "ReduceSum", "", List.of("acc2"), List.of("s"), Map.of("keepdims", new Attr.Int(0)), 16),
                new Node("less", "Less", "", List.of("s", "limit"), List.of("c2"), Map.of(), 16)));
        body.outputs().addAll(List.of("c2", "acc2"));
        body.values().put("c2", new Value("c2", DType.BOOL, Shape.SCALAR));
        body.values().put("acc2", new Value("acc2", DType.FLOAT32, new Shape(1, N)));
        Graph g = new Graph("runtime_loop");
        g.opsets().put("", 16);
        for (Value v : List.of(new Value("x", DType.FLOAT32, new Shape(1, N)), new Value("limit", DType.FLOAT32, Shape.SCALAR))) {
            g.inputs().add(v);
            g.values().put(v.name(), v);
        }
        g.initializers().put("m", Tensor.ofLongs(Shape.SCALAR, 20));
        g.initializers().put("start", Tensor.zeros(DType.FLOAT32, new Shape(1, N)));
        g.setNodes(List.of(new Node("loop", "Loop", "", List.of("m", "", "start"), List.of("y"), Map.of("body", new Attr.GraphAttr(body)), 16)));
        g.outputs().add("y");
        g.values().put("y", new Value("y", DType.FLOAT32, new Shape(1, N)));
        Path file = dir.resolve("runtime_loop.onnx"), so = dir.resolve("runtime_loop.so");
        Files.write(file, OnnxWriter.write(g, OnnxWriter.IR_VERSION));
        Compiler.compile(file.toString(), so, new Compiler.Options(Target.host(), Map.of(), null, false));
        Target host = Target.parse("x86_64-avx512");
        ModuleSpec spec = ExecutorLowering.run(GraphPipeline.run(ModelSource.load(file.toString(), Map.of()), host, (pass, graph) -> {}), host,
                (name, fn) -> {}).spec();
        assertTrue(spec.calls().stream().filter(c -> !c.guards().isEmpty()).count() >= 20, "each iteration's kernels are guarded");
        Tensor x = Tensor.generate(DType.FLOAT32, new Shape(1, N), i -> 0.1);
        try (KilnLibrary kiln = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(Files.readAllBytes(file), 1)) {
            // sum(acc) after each iteration: 6.4, 9.5, 11.1, 11.8, 12.2, ...: stops after 1, 3, 4 or all 20.
            for (float limit : new float[] {5, 10, 11.5f, 100}) {
                Map<String, Tensor> feed = Map.of("x", x, "limit", Tensor.ofFloats(Shape.SCALAR, limit));
                Compare c = Compare.of(kiln.run(feed).get("y"), ort.run(feed).get("y"), 1e-5, 1e-4);
                assertTrue(c.ok(), "limit " + limit + ": " + c.detail());
            }
        }
    }
}
