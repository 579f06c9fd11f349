package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.GraphBuilder;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlFlowTest {
    private static final Tensor X = Tensor.ofFloats(new Shape(2, 3), -1, 0, 2, 3, 4, 5);

    /** A branch: {@code out = op(x, c)} for a constant c of its own (a subgraph initializer). */
    private static Graph branch(String op, float c, String out) {
        Graph b = new GraphBuilder(op).init("c", Tensor.ofFloats(Shape.SCALAR, c)).node(op, List.of("x", "c"), List.of(out)).output(out).build();
        return b;
    }

    private static Node ifNode(String name, String cond, Graph then, Graph otherwise, String out) {
        return new Node(name, "If", "", List.of(cond), List.of(out),
                Map.of("then_branch", new Attr.GraphAttr(then), "else_branch", new Attr.GraphAttr(otherwise)), 16);
    }

    /** x [2, 3]; cond = (Shape(x)[0] == rows): known from the shape alone. */
    private static GraphBuilder shapeCondition(long rows) {
        return new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .init("zero", Tensor.ofLongs(Shape.SCALAR, 0))
                .init("rows", Tensor.ofLongs(Shape.SCALAR, rows))
                .node("Shape", List.of("x"), List.of("s"))
                .node("Gather", List.of("s", "zero"), List.of("n"))
                .node("Equal", List.of("n", "rows"), List.of("cond"));
    }

    @Test
    void takesTheBranchAConditionOnShapesPicks() {
        for (long rows : new long[] {2, 5}) {
            Graph g = shapeCondition(rows).output("y").build();
            g.nodes().add(ifNode("if0", "cond", branch("Add", 1, "t"), branch("Mul", 2, "e"), "y"));
            assertEquals(1, ControlFlow.run(g));
            assertTrue(g.nodes().stream().noneMatch(n -> n.op().equals("If")));
            ShapeInference.run(g);
            float[] y = Evaluator.run(g, Map.of("x", X)).get("y").floats();
            float[] expected = new float[6];
            for (int i = 0; i < 6; i++) expected[i] = rows == 2 ? X.floats()[i] + 1 : X.floats()[i] * 2;
            assertArrayEquals(expected, y, "rows == " + rows);
        }
    }

    @Test
    void inlinesNestedIfsThatReadTheOuterBranchsValues() {
        // then: u = x + 1; inner If (always true) gives u * 3, reading the then branch's u.
        Graph inner = new GraphBuilder("inner").init("three", Tensor.ofFloats(Shape.SCALAR, 3))
                .node("Mul", List.of("u", "three"), List.of("v")).output("v").build();
        Graph then = new GraphBuilder("then").init("one", Tensor.ofFloats(Shape.SCALAR, 1)).init("yes", Tensor.of(DType.BOOL, Shape.SCALAR, new long[] {1}))
                .node("Add", List.of("x", "one"), List.of("u")).output("w").build();
        then.nodes().add(ifNode("inner", "yes", inner, branch("Sub", 0, "z"), "w"));
        Graph g = shapeCondition(2).output("y").build();
        g.nodes().add(ifNode("outer", "cond", then, branch("Mul", 2, "e"), "y"));
        assertEquals(2, ControlFlow.run(g));
        ShapeInference.run(g);
        float[] y = Evaluator.run(g, Map.of("x", X)).get("y").floats();
        for (int i = 0; i < 6; i++) assertEquals((X.floats()[i] + 1) * 3, y[i], 1e-6);
    }

    @Test
    void aConditionOnInputValuesComputesBothBranchesAndSelects() {
        Graph g = new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .init("zero", Tensor.ofFloats(Shape.SCALAR, 0))
                .node("ReduceSum", List.of("x"), List.of("s"), "keepdims", 0)
                .node("Greater", List.of("s", "zero"), List.of("cond"))
                .output("y").build();
        g.nodes().add(ifNode("if0", "cond", branch("Add", 1, "t"), branch("Mul", 2, "e"), "y"));
        assertEquals(1, ControlFlow.run(g));
        assertTrue(g.nodes().stream().anyMatch(n -> n.op().equals("Where")));
        ShapeInference.run(g);
        Tensor neg = Tensor.generate(DType.FLOAT32, X.shape(), i -> -X.floats()[i]);
        for (Tensor x : List.of(X, neg)) {
            float[] y = Evaluator.run(g, Map.of("x", x)).get("y").floats();
            boolean taken = Arrays.stream(new int[] {0, 1, 2, 3, 4, 5}).mapToDouble(i -> x.floats()[i]).sum() > 0;
            for (int i = 0; i < 6; i++) assertEquals(taken ? x.floats()[i] + 1 : x.floats()[i] * 2, y[i], 1e-6);
        }
    }

    @Test
    void eachRuntimeBranchsValuesCarryItsGuardsNestedOnesBoth() {
        // outer If on cond = sum(x) > 0; its then branch holds an If on cond2 = sum(x) < 10.
        Graph then = new GraphBuilder("then").output("w").build();
        then.nodes().add(ifNode("inner", "cond2", branch("Add", 1, "t"), branch("Sub", 1, "u"), "w"));
        Graph g = new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .init("zero", Tensor.ofFloats(Shape.SCALAR, 0))
                .init("ten", Tensor.ofFloats(Shape.SCALAR, 10))
                .node("ReduceSum", List.of("x"), List.of("s"), "keepdims", 0)
                .node("Greater", List.of("s", "zero"), List.of("cond"))
                .node("Less", List.of("s", "ten"), List.of("cond2"))
                .output("y").build();
        g.nodes().add(ifNode("outer", "cond", then, branch("Mul", 2, "e"), "y"));
        assertEquals(2, ControlFlow.run(g));
        Map<String, List<Graph.Guard>> byOp = new java.util.HashMap<>();
        for (Node n : g.nodes()) byOp.put(n.op() + (n.op().equals("Where") ? n.output(0) : ""), g.guards().getOrDefault(n.output(0), List.of()));
        // Each If tests its condition as a scalar (the Reshape its Wheres read).
        java.util.function.Function<String, String> scalar = c -> g.nodes().stream().filter(n -> n.op().equals("Reshape") && n.input(0).equals(c))
                .findFirst().orElseThrow().output(0);
        Graph.Guard outerThen = new Graph.Guard(scalar.apply("cond"), true), outerElse = new Graph.Guard(scalar.apply("cond"), false);
        assertEquals(List.of(outerElse), byOp.get("Mul"));
        assertEquals(List.of(outerThen, new Graph.Guard(scalar.apply("cond2"), true)), byOp.get("Add"));
        assertEquals(List.of(outerThen, new Graph.Guard(scalar.apply("cond2"), false)), byOp.get("Sub"));
        assertEquals(List.of(outerThen), g.guards().get(scalar.apply("cond2")), "the inner condition is computed in the outer then branch");
        assertEquals(List.of(), byOp.get("Wherey"), "the outer selection runs always");
        assertEquals(List.of(outerThen), g.guards().get(g.nodes().stream().filter(n -> n.op().equals("Where") && !n.output(0).equals("y"))
                .findFirst().orElseThrow().output(0)), "the inner selection runs in the outer then branch");
        ShapeInference.run(g);
        for (float scale : new float[] {1, -1, 0.5f}) {
            Tensor x = Tensor.generate(DType.FLOAT32, X.shape(), i -> scale * X.floats()[i]);
            double sum = 13 * scale;
            float[] y = Evaluator.run(g, Map.of("x", x)).get("y").floats();
            for (int i = 0; i < 6; i++) {
                float v = x.floats()[i];
                assertEquals(sum > 0 ? (sum < 10 ? v + 1 : v - 1) : v * 2, y[i], 1e-6);
            }
        }
    }

    @Test
    void branchesOfDifferentShapesUnderARuntimeConditionAreRefused() {
        Graph g = new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .input("cond", DType.BOOL)
                .output("y").build();
        Graph wide = new GraphBuilder("wide").init("c", Tensor.ofFloats(new Shape(4, 1, 1), 1, 2, 3, 4))
                .node("Add", List.of("x", "c"), List.of("w")).output("w").build();
        g.nodes().add(ifNode("if0", "cond", wide, branch("Mul", 2, "e"), "y"));
        KilnException e = assertThrows(KilnException.class, () -> ControlFlow.run(g));
        assertTrue(e.getMessage().contains("different types (float32[4,2,3] and float32[2,3])"), e.getMessage());
    }

    @Test
    void aLoopWhoseConditionDependsOnDataRunsGuardedUpToItsTripCount() {
        // cond_out = sum(acc) < 10: only known at run time; at most 100 iterations.
        java.util.function.Supplier<Graph> body = () -> new GraphBuilder("body")
                .input("i", DType.INT64)
                .input("c", DType.BOOL)
                .input("acc", DType.FLOAT32, 2, 3)
                .init("ten", Tensor.ofFloats(Shape.SCALAR, 10))
                .node("Add", List.of("acc", "x"), List.of("acc2"))
                .node("ReduceSum", List.of("acc2"), List.of("s"), "keepdims", 0)
                .node("Less", List.of("s", "ten"), List.of("c2"))
                .output("c2", "acc2").build();
        java.util.function.BiFunction<String, List<String>, Graph> model = (m, outs) -> {
            Graph g = new GraphBuilder("g").opset(16)
                    .input("x", DType.FLOAT32, 2, 3)
                    .init("m", Tensor.ofLongs(Shape.SCALAR, 100))
                    .init("zeros", Tensor.ofFloats(new Shape(2, 3), new float[6]))
                    .output(outs.toArray(String[]::new)).build();
            g.nodes().add(new Node("loop", "Loop", "", List.of(m, "", "zeros"), outs, Map.of("body", new Attr.GraphAttr(body.get())), 16));
            return g;
        };
        Graph g = model.apply("m", List.of("sum"));
        assertEquals(1, ControlFlow.run(g));
        ShapeInference.run(g);
        assertTrue(g.guards().size() > 100, "every iteration's values are guarded");
        for (float scale : new float[] {0.3f, 1f, -1f}) {
            Tensor x = Tensor.generate(DType.FLOAT32, X.shape(), i -> scale * X.floats()[i]);
            float[] acc = new float[6];
            for (int k = 0; k < 100; k++) {
                float sum = 0;
                for (int i = 0; i < 6; i++) sum += acc[i] += x.floats()[i];
                if (!(sum < 10)) break;
            }
            assertArrayEquals(acc, Evaluator.run(g, Map.of("x", x)).get("sum").floats(), 1e-5f, "scale " + scale);
        }
        // Without M nothing bounds it; a scan output would have a length the data decides: the
        // Loop stays, and shape inference refuses it (naming what --input-value could bind).
        Graph unbounded = model.apply("", List.of("sum"));
        assertEquals(0, ControlFlow.run(unbounded));
        KilnException e = assertThrows(KilnException.class, () -> ShapeInference.run(unbounded));
        assertTrue(e.getMessage().contains("condition depends on values known only at run time"), e.getMessage());
        Graph scanned = model.apply("m", List.of("sum", "partial"));
        Graph withScan = new GraphBuilder("body").input("i", DType.INT64).input("c", DType.BOOL).input("acc", DType.FLOAT32, 2, 3)
                .init("ten", Tensor.ofFloats(Shape.SCALAR, 10))
                .node("Add", List.of("acc", "x"), List.of("acc2"))
                .node("ReduceSum", List.of("acc2"), List.of("s"), "keepdims", 0)
                .node("Less", List.of("s", "ten"), List.of("c2"))
                .node("Identity", List.of("acc2"), List.of("p"))
                .output("c2", "acc2", "p").build();
        scanned.setNodes(List.of(new Node("loop", "Loop", "", List.of("m", "", "zeros"), List.of("sum", "partial"),
                Map.of("body", new Attr.GraphAttr(withScan)), 16)));
        assertEquals(0, ControlFlow.run(scanned));
        e = assertThrows(KilnException.class, () -> ShapeInference.run(scanned));
        assertTrue(e.getMessage().contains("condition depends on values known only at run time"), e.getMessage());
    }

    /** Loop body: (i, cond, acc) -> (cond, acc + x * i, acc) : carried sum, scanned partial sums. */
    private static Graph loopBody() {
        Graph b = new GraphBuilder("body")
                .input("i", DType.INT64)
                .input("c", DType.BOOL)
                .input("acc", DType.FLOAT32, 2, 3)
                .node("Cast", List.of("i"), List.of("fi"), "to", 1)
                .node("Mul", List.of("x", "fi"), List.of("xi"))
                .node("Add", List.of("acc", "xi"), List.of("acc2"))
                .node("Identity", List.of("c"), List.of("c2"))
                .node("Identity", List.of("acc"), List.of("before"))
                .output("c2", "acc2", "before").build();
        return b;
    }

    @Test
    void unrollsALoopWithAKnownTripCountThreadingValuesAndStackingScans() {
        Graph g = new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .init("m", Tensor.ofLongs(Shape.SCALAR, 4))
                .init("zeros", Tensor.ofFloats(new Shape(2, 3), new float[6]))
                .output("sum", "partials").build();
        g.nodes().add(new Node("loop", "Loop", "", List.of("m", "", "zeros"), List.of("sum", "partials"),
                Map.of("body", new Attr.GraphAttr(loopBody())), 16));
        assertEquals(1, ControlFlow.run(g));
        ShapeInference.run(g);
        Map<String, Tensor> r = Evaluator.run(g, Map.of("x", X));
        assertEquals(new Shape(4, 2, 3), r.get("partials").shape());
        for (int i = 0; i < 6; i++) {
            float x = X.floats()[i];
            assertEquals(x * (0 + 1 + 2 + 3), r.get("sum").floats()[i], 1e-5);
            assertEquals(x * (0 + 1 + 2), r.get("partials").floats()[3 * 6 + i], 1e-5, "the state before the last iteration");
        }
    }

    @Test
    void aLoopWithARuntimeTripCountIsRefusedNamingIt() {
        Graph g = new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .input("m", DType.INT64)
                .init("zeros", Tensor.ofFloats(new Shape(2, 3), new float[6]))
                .output("sum", "partials").build();
        g.nodes().add(new Node("loop", "Loop", "", List.of("m", "", "zeros"), List.of("sum", "partials"),
                Map.of("body", new Attr.GraphAttr(loopBody())), 16));
        assertEquals(0, ControlFlow.run(g));
        KilnException e = assertThrows(KilnException.class, () -> ShapeInference.run(g));
        assertTrue(e.getMessage().contains("('m') must be a compile-time constant"), e.getMessage());
    }

    /** A Scan body: (s, row) -> (s + row, s + row), rows of {@code width} floats. */
    private static Graph runningSum(int width) {
        return new GraphBuilder("body")
                .input("s", DType.FLOAT32, width)
                .input("row", DType.FLOAT32, width)
                .node("Add", List.of("s", "row"), List.of("s2"))
                .node("Identity", List.of("s2"), List.of("out"))
                .output("s2", "out").build();
    }

    @Test
    void unrollsAScanInReverseOverItsAxis() {
        // Running sum over the rows of x, scanned from the last row; outputs stacked on axis 1.
        Graph body = runningSum(3);
        Graph g = new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .init("zeros", Tensor.ofFloats(new Shape(3), new float[3]))
                .output("total", "running").build();
        g.nodes().add(new Node("scan", "Scan", "", List.of("zeros", "x"), List.of("total", "running"),
                Map.of("body", new Attr.GraphAttr(body), "num_scan_inputs", new Attr.Int(1),
                        "scan_input_directions", new Attr.Ints(new long[] {1}), "scan_output_axes", new Attr.Ints(new long[] {1})), 16));
        assertEquals(1, ControlFlow.run(g));
        ShapeInference.run(g);
        Map<String, Tensor> r = Evaluator.run(g, Map.of("x", X));
        float[] x = X.floats();
        assertArrayEquals(new float[] {x[0] + x[3], x[1] + x[4], x[2] + x[5]}, r.get("total").floats());
        // running[:, k] is the sum after k+1 steps; step 0 took row 1.
        assertEquals(new Shape(3, 2), r.get("running").shape());
        assertArrayEquals(new float[] {x[3], x[0] + x[3], x[4], x[1] + x[4], x[5], x[2] + x[5]}, r.get("running").floats());
    }

    @Test
    void unrollsAnOpset8ScanPerBatchElement() {
        // Opset 8: batch axis first, no sequence_lens; a running sum over each element's 3 rows, reversed.
        Graph body = runningSum(2);
        Graph g = new GraphBuilder("g").opset(8)
                .input("init", DType.FLOAT32, 2, 2)
                .input("x", DType.FLOAT32, 2, 3, 2)
                .output("total", "running").build();
        g.nodes().add(new Node("scan", "Scan", "", List.of("", "init", "x"), List.of("total", "running"),
                Map.of("body", new Attr.GraphAttr(body), "num_scan_inputs", new Attr.Int(1), "directions", new Attr.Ints(new long[] {1})), 8));
        assertTrue(ControlFlow.run(g) >= 3, "one Scan per batch element, each unrolled");
        ShapeInference.run(g);
        Tensor init = Tensor.ofFloats(new Shape(2, 2), 1, 2, 3, 4);
        Tensor x = Tensor.generate(DType.FLOAT32, new Shape(2, 3, 2), i -> i);
        Map<String, Tensor> r = Evaluator.run(g, Map.of("init", init, "x", x));
        float[] total = new float[4], running = new float[12];
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++) {
                float acc = init.floats()[b * 2 + c];
                for (int step = 0; step < 3; step++) {
                    acc += x.floats()[b * 6 + (2 - step) * 2 + c];
                    running[b * 6 + step * 2 + c] = acc;
                }
                total[b * 2 + c] = acc;
            }
        assertArrayEquals(total, r.get("total").floats());
        assertEquals(new Shape(2, 3, 2), r.get("running").shape());
        assertArrayEquals(running, r.get("running").floats());
    }
}
