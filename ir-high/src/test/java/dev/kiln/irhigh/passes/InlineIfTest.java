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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InlineIfTest {
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
            assertEquals(1, InlineIf.run(g));
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
        assertEquals(2, InlineIf.run(g));
        ShapeInference.run(g);
        float[] y = Evaluator.run(g, Map.of("x", X)).get("y").floats();
        for (int i = 0; i < 6; i++) assertEquals((X.floats()[i] + 1) * 3, y[i], 1e-6);
    }

    @Test
    void aConditionOnInputValuesStaysAndIsRefusedNamingIt() {
        Graph g = new GraphBuilder("g").opset(16)
                .input("x", DType.FLOAT32, 2, 3)
                .init("zero", Tensor.ofFloats(Shape.SCALAR, 0))
                .node("ReduceSum", List.of("x"), List.of("s"), "keepdims", 0)
                .node("Greater", List.of("s", "zero"), List.of("cond"))
                .output("y").build();
        g.nodes().add(ifNode("if0", "cond", branch("Add", 1, "t"), branch("Mul", 2, "e"), "y"));
        assertEquals(0, InlineIf.run(g));
        KilnException e = assertThrows(KilnException.class, () -> ShapeInference.run(g));
        assertTrue(e.getMessage().contains("('cond') must be a compile-time constant"), e.getMessage());
    }
}
