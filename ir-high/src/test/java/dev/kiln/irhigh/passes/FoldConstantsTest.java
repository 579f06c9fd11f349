package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.GraphBuilder;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FoldConstantsTest {
    /** y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): the usual exported flatten. */
    private static Graph shapeChain() {
        return new GraphBuilder("chain")
                .input("x", DType.FLOAT32, 2, 3, 4)
                .init("zero", Tensor.ofLongs(Shape.SCALAR, 0))
                .init("axes", Tensor.ofLongs(new Shape(1), 0))
                .init("minus1", Tensor.ofLongs(new Shape(1), -1))
                .node("Shape", List.of("x"), List.of("s"))
                .node("Gather", List.of("s", "zero"), List.of("g"))
                .node("Unsqueeze", List.of("g", "axes"), List.of("u"))
                .node("Concat", List.of("u", "minus1"), List.of("c"), "axis", 0)
                .node("Reshape", List.of("x", "c"), List.of("y"))
                .output("y")
                .build();
    }

    @Test
    void foldsAShapeComputationIntoAConstantShape() {
        Graph g = shapeChain();
        Tensor x = Tensor.generate(DType.FLOAT32, new Shape(2, 3, 4), i -> i);
        Tensor before = Evaluator.run(g, Map.of("x", x)).get("y");

        FoldConstants.Result r = FoldConstants.run(g);

        assertEquals(4, r.folded());
        assertEquals("folded 4 nodes into constants, 1 left", r.toString());
        assertEquals(1, g.nodes().size());
        assertEquals("Reshape", g.nodes().get(0).op());
        assertEquals(Tensor.ofLongs(new Shape(2), 2, -1), g.initializers().get("c"));
        assertEquals(List.of("c"), List.copyOf(g.initializers().keySet()), "inputs only the folded nodes used are dropped");
        ShapeInference.run(g);
        assertEquals(new Shape(2, 12), g.value("y").shape());
        assertEquals(before, Evaluator.run(g, Map.of("x", x)).get("y"));
    }

    @Test
    void constantGraphOutputsStayOutputs() {
        Graph g = new GraphBuilder("consts")
                .input("x", DType.FLOAT32, 2)
                .node("Constant", List.of(), List.of("a"), "value", Tensor.ofFloats(new Shape(2), 1, 2))
                .node("Add", List.of("a", "a"), List.of("b"))
                .node("Mul", List.of("x", "b"), List.of("y"))
                .output("b", "y")
                .build();
        assertEquals(2, FoldConstants.run(g).folded());
        assertEquals(List.of("b", "y"), g.outputs());
        assertEquals(Tensor.ofFloats(new Shape(2), 2, 4), g.initializers().get("b"));
        assertFalse(g.initializers().containsKey("a"));
        Map<String, Tensor> out = Evaluator.run(g, Map.of("x", Tensor.ofFloats(new Shape(2), 10, 10)));
        assertEquals(List.of("b", "y"), List.copyOf(out.keySet()));
        assertEquals(Tensor.ofFloats(new Shape(2), 20, 40), out.get("y"));
    }

    @Test
    void leavesLargeGeneratedTensorsToRunTime() {
        Graph g = new GraphBuilder("big")
                .init("small", Tensor.ofLongs(new Shape(1), 4))
                .init("large", Tensor.ofLongs(new Shape(2), 2048, 1024))
                .node("ConstantOfShape", List.of("small"), List.of("a"))
                .node("ConstantOfShape", List.of("large"), List.of("b"))
                .output("a", "b")
                .build();
        assertEquals(1, FoldConstants.run(g).folded());
        assertTrue(g.initializers().containsKey("a"));
        assertEquals("b", g.nodes().get(0).output(0));
    }

    @Test
    void foldsWeightPreprocessing() {
        Tensor w = Tensor.generate(DType.FLOAT32, new Shape(3, 2), i -> i);
        Graph g = new GraphBuilder("w")
                .input("x", DType.FLOAT32, 1, 3)
                .init("w", w)
                .node("Transpose", List.of("w"), List.of("wt"))
                .node("Gemm", List.of("x", "wt"), List.of("y"), "transB", 1)
                .output("y")
                .build();
        Tensor x = Tensor.ofFloats(new Shape(1, 3), 1, 2, 3);
        Tensor before = Evaluator.run(g, Map.of("x", x)).get("y");
        assertEquals(1, FoldConstants.run(g).folded());
        assertFalse(g.initializers().containsKey("w"));
        assertEquals(new Shape(2, 3), g.initializers().get("wt").shape());
        assertEquals(before, Evaluator.run(g, Map.of("x", x)).get("y"));
    }
}
