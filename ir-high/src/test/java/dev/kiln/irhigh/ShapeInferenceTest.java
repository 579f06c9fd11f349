package dev.kiln.irhigh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShapeInferenceTest {
    @Test
    void typesEveryValueAndResolvesShapeComputations() {
        Graph g = new GraphBuilder("g")
                .input("x", DType.FLOAT32, 2, 3, 4)
                .init("axes", Tensor.ofLongs(new Shape(1), 0))
                .init("w", Tensor.zeros(DType.FLOAT32, new Shape(12, 5)))
                .node("Shape", List.of("x"), List.of("s"))
                .node("Slice", List.of("s", "axes", "axes2"), List.of("n"))
                .node("Constant", List.of(), List.of("axes2"), "value", Tensor.ofLongs(new Shape(1), 1))
                .node("Concat", List.of("n", "minus1"), List.of("c"), "axis", 0)
                .node("Constant", List.of(), List.of("minus1"), "value_ints", new long[] {-1})
                .node("Reshape", List.of("x", "c"), List.of("flat"))
                .node("MatMul", List.of("flat", "w"), List.of("y"))
                .node("Cast", List.of("s"), List.of("sf"), "to", 1)
                .output("y", "sf")
                .build();
        ShapeInference.run(g);
        assertEquals(new Value("flat", DType.FLOAT32, new Shape(2, 12)), g.values().get("flat"));
        assertEquals(new Value("y", DType.FLOAT32, new Shape(2, 5)), g.values().get("y"));
        assertEquals(new Value("s", DType.INT64, new Shape(3)), g.values().get("s"));
        assertEquals(new Value("sf", DType.FLOAT32, new Shape(3)), g.values().get("sf"));
        assertEquals(new Value("x", DType.FLOAT32, new Shape(2, 3, 4)), g.values().get("x"));
        assertEquals(new Value("w", DType.FLOAT32, new Shape(12, 5)), g.values().get("w"));
        assertEquals("Constant", g.nodes().get(1).op(), "nodes are sorted topologically");
    }

    @Test
    void errorsNameTheNode() {
        Graph g = new GraphBuilder("g")
                .input("x", DType.FLOAT32, 2, 3)
                .init("b", Tensor.zeros(DType.FLOAT32, new Shape(4)))
                .node("Relu", List.of("x"), List.of("r"))
                .node("Add", List.of("r", "b"), List.of("y"))
                .output("y")
                .build();
        String m = assertThrows(KilnException.class, () -> ShapeInference.run(g)).getMessage();
        assertTrue(m.startsWith("node 'add_1' (Add, opset 17): input B ('b') has shape [4], which does not broadcast"), m);

        Graph missing = new GraphBuilder("g").input("x", DType.FLOAT32, 2).node("Relu", List.of("nope"), List.of("y")).output("y").build();
        m = assertThrows(KilnException.class, () -> ShapeInference.run(missing)).getMessage();
        assertTrue(m.contains("input 'nope' is not a graph input, an initializer or the output of any node"), m);

        Graph declared = new GraphBuilder("g").input("x", DType.FLOAT32, 2).node("Relu", List.of("x"), List.of("y")).output("y").build();
        declared.values().put("y", new Value("y", DType.FLOAT32, new Shape(1, 2)));
        m = assertThrows(KilnException.class, () -> ShapeInference.run(declared)).getMessage();
        assertTrue(m.startsWith("graph output 'y' of graph 'g' is declared as float32[1,2] but the graph computes float32[2]"), m);

        Graph unsupported = new GraphBuilder("g").input("x", DType.FLOAT32, 2).node("Gru", List.of("x"), List.of("y")).output("y").build();
        m = assertThrows(KilnException.class, () -> ShapeInference.run(unsupported)).getMessage();
        assertTrue(m.startsWith("node 'gru_0' (Gru, opset 17): unsupported op 'Gru'"), m);
    }
}
