package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.GraphBuilder;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RemoveIdentityTest {
    private static final Tensor X = Tensor.ofFloats(new Shape(3), -1, 0, 2);

    private static List<String> ops(Graph g) {
        return g.nodes().stream().map(Node::op).toList();
    }

    @Test
    void removesIdentitiesAndKeepsTheGraphOutputName() {
        Graph g = new GraphBuilder("g")
                .input("x", DType.FLOAT32, 3)
                .node("Neg", List.of("x"), List.of("a"))
                .node("Identity", List.of("a"), List.of("b"))
                .node("Dropout", List.of("b"), List.of("c"))
                .node("Relu", List.of("c"), List.of("d"))
                .node("Identity", List.of("d"), List.of("y"))
                .output("y")
                .build();
        ShapeInference.run(g);
        Map<String, Tensor> before = Evaluator.run(g, Map.of("x", X));

        assertEquals(3, RemoveIdentity.run(g));

        assertEquals(List.of("Neg", "Relu"), ops(g));
        assertEquals(List.of("x"), g.nodes().get(0).inputs());
        assertEquals(List.of("a"), g.nodes().get(1).inputs());
        assertEquals(List.of("y"), g.nodes().get(1).outputs());
        assertFalse(g.values().containsKey("d"));
        assertEquals(before, Evaluator.run(g, Map.of("x", X)));
    }

    @Test
    void keepsIdentitiesThatCannotBeRemovedWithoutRenamingAnOutput() {
        Graph g = new GraphBuilder("g")
                .input("x", DType.FLOAT32, 3)
                .node("Identity", List.of("x"), List.of("y1"))
                .node("Relu", List.of("x"), List.of("r"))
                .node("Identity", List.of("r"), List.of("y2"))
                .node("Identity", List.of("r"), List.of("y3"))
                .node("Dropout", List.of("r"), List.of("y4", "mask"))
                .output("y1", "y2", "y3", "y4", "mask")
                .build();
        ShapeInference.run(g);
        Map<String, Tensor> before = Evaluator.run(g, Map.of("x", X));
        // y1 reads a graph input and y3 reads y2 (r was renamed y2); the Dropout's mask is used.
        assertEquals(1, RemoveIdentity.run(g));
        assertEquals(List.of("Identity", "Relu", "Identity", "Dropout"), ops(g));
        assertEquals(List.of("y2"), g.nodes().get(2).inputs());
        ShapeInference.run(g);
        assertEquals(before, Evaluator.run(g, Map.of("x", X)));
    }
}
