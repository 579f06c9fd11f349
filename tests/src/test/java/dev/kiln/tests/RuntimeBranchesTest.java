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
}
