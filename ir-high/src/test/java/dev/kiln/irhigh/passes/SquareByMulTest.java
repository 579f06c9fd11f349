package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;

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

class SquareByMulTest {
    @Test
    void aSquareBecomesAMulWithTheSameValuesAndOtherPowersStay() {
        Graph g = new GraphBuilder("sq").input("x", DType.FLOAT32, 3, 4).input("i", DType.INT64, 3)
                .init("two", Tensor.ofFloats(new Shape(), 2f)).init("three", Tensor.ofFloats(new Shape(1), 3f))
                .init("itwo", Tensor.ofLongs(new Shape(), 2))
                .node("Pow", List.of("x", "two"), List.of("a")).node("Pow", List.of("x", "three"), List.of("b"))
                .node("Pow", List.of("i", "itwo"), List.of("c")).output("a", "b", "c").build();
        Map<String, Tensor> in = Map.of("x", Tensor.generate(DType.FLOAT32, new Shape(3, 4), k -> (k - 5) * 0.37),
                "i", Tensor.ofLongs(new Shape(3), -4, 0, 9));
        Map<String, Tensor> before = Evaluator.run(g, in);
        ShapeInference.run(g);
        assertEquals(1, SquareByMul.run(g));
        assertEquals(List.of("Mul", "Pow", "Pow"), g.nodes().stream().map(Node::op).toList());
        Map<String, Tensor> after = Evaluator.run(g, in);
        for (String o : List.of("a", "b", "c")) assertEquals(before.get(o), after.get(o), o);
    }
}
