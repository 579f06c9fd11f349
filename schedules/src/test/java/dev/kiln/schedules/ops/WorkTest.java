package dev.kiln.schedules.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.FuseOps;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The work counted per kernel (profiles' and tuners' GFLOP/s), from the ops' definitions. */
class WorkTest {
    private static Graph graph(Map<String, int[]> inputs) {
        Graph g = new Graph("work");
        g.opsets().put("", 17);
        inputs.forEach((n, d) -> g.inputs().add(new Value(n, DType.FLOAT32, new Shape(d))));
        return g;
    }

    private static Node node(Graph g, String op, List<String> ins, String out, Map<String, Attr> attrs) {
        Node n = new Node(op + "/" + g.nodes().size(), op, "", ins, List.of(out), attrs, 17);
        g.nodes().add(n);
        return n;
    }

    @Test
    void convAndConvTransposeCountTwoPerMultiplyAdd() {
        Graph g = graph(Map.of("x", new int[] {1, 8, 10, 12}));
        g.initializers().put("w", Tensor.generate(DType.FLOAT32, Shape.of(16, 4, 3, 3), i -> 0.1));
        g.initializers().put("wt", Tensor.generate(DType.FLOAT32, Shape.of(8, 2, 4, 4), i -> 0.1));
        Node conv = node(g, "Conv", List.of("x", "w"), "y", Map.of("group", new Attr.Int(2), "pads", new Attr.Ints(new long[] {1, 1, 1, 1})));
        Node deconv = node(g, "ConvTranspose", List.of("x", "wt"), "z", Map.of("strides", new Attr.Ints(new long[] {2, 2})));
        g.outputs().addAll(List.of("y", "z"));
        ShapeInference.run(g);
        // Each of the 10x12 output pixels meets each of the 16*4*3*3 weights once.
        assertEquals(2.0 * 10 * 12 * 16 * 4 * 9, Work.flops(conv, g));
        // Each of the 10x12 input pixels scatters into each of the 8*2*4*4 weights once.
        assertEquals(2.0 * 10 * 12 * 8 * 2 * 16, Work.flops(deconv, g));
    }

    @Test
    void poolsCountTheirWindowsAndReductionsTheirInputs() {
        Graph g = graph(Map.of("x", new int[] {1, 4, 8, 8}));
        Node pool = node(g, "MaxPool", List.of("x"), "p", Map.of("kernel_shape", new Attr.Ints(new long[] {3, 3}),
                "strides", new Attr.Ints(new long[] {2, 2})));
        Node global = node(g, "GlobalAveragePool", List.of("x"), "q", Map.of());
        Node relu = node(g, "Relu", List.of("x"), "r", Map.of());
        g.outputs().addAll(List.of("p", "q", "r"));
        ShapeInference.run(g);
        assertEquals(4.0 * 3 * 3 * 9, Work.flops(pool, g));
        assertEquals(4.0 * 8 * 8, Work.flops(global, g));
        assertEquals(4.0 * 8 * 8, Work.flops(relu, g));
    }

    /** The int8 kernel counts two per multiply-add as a float MatMul does, so its GFLOP/s compare (as integer ops per second). */
    @Test
    void int8MatMulCountsTwoPerMultiplyAdd() {
        Graph g = new Graph("work");
        g.opsets().put("", 17);
        g.inputs().add(new Value("a", DType.UINT8, new Shape(3, 6, 40)));
        g.initializers().put("b", Tensor.generate(DType.INT8, Shape.of(40, 7), i -> 1));
        Node n = new Node("q", dev.kiln.irhigh.ops.Int8MatMul.OP, dev.kiln.irhigh.ops.Int8MatMul.DOMAIN, List.of("a", "b"), List.of("y"), Map.of(), 17);
        g.nodes().add(n);
        g.outputs().add("y");
        ShapeInference.run(g);
        assertEquals(2.0 * 18 * 7 * 40, Work.flops(n, g));
    }

    @Test
    void aFusedGroupCountsEachOfItsOps() {
        Graph g = graph(Map.of("a", new int[] {6, 32}));
        g.initializers().put("b", Tensor.generate(DType.FLOAT32, Shape.of(32, 5), i -> 0.1));
        node(g, "MatMul", List.of("a", "b"), "m", Map.of());
        node(g, "Relu", List.of("m"), "y", Map.of());
        g.outputs().add("y");
        ShapeInference.run(g);
        FuseOps.run(g);
        assertEquals(1, g.nodes().size(), "MatMul and Relu fuse");
        assertEquals(2.0 * 6 * 5 * 32 + 6 * 5, Work.flops(g.nodes().getFirst(), g));
    }
}
