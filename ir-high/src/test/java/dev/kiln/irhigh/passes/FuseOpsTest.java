package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.GraphBuilder;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseOpsTest {
    private static Tensor zeros(int... dims) {
        return Tensor.zeros(DType.FLOAT32, new Shape(dims));
    }

    private static Graph inferred(GraphBuilder b) {
        Graph g = b.build();
        ShapeInference.run(g);
        return g;
    }

    /** "op(op, op)" for a fused node's body, or the op of a plain node. */
    private static List<String> describe(Graph g) {
        return g.nodes().stream().map(n -> FuseOps.isFused(n) ? FuseOps.body(n).name() : n.op()).toList();
    }

    /** A ResNet basic block after BN folding; the skip is the block's input. */
    private static GraphBuilder block() {
        return new GraphBuilder("block").input("x", DType.FLOAT32, 1, 4, 6, 6)
                .init("w1", zeros(4, 4, 3, 3)).init("b1", zeros(4)).init("w2", zeros(4, 4, 3, 3)).init("b2", zeros(4))
                .node("Conv", List.of("x", "w1", "b1"), List.of("a"), "pads", new int[] {1, 1, 1, 1})
                .node("Relu", List.of("a"), List.of("r"))
                .node("Conv", List.of("r", "w2", "b2"), List.of("c"), "pads", new int[] {1, 1, 1, 1})
                .node("Add", List.of("c", "x"), List.of("e"))
                .node("Relu", List.of("e"), List.of("y"));
    }

    @Test
    void resnetBlockBecomesTwoKernelsWithTheSkipAsAnInput() {
        Graph g = inferred(block().output("y"));
        assertEquals(2, FuseOps.run(g));
        assertEquals(List.of("Conv+Relu", "Conv+Add+Relu"), describe(g));
        Node second = g.nodes().get(1);
        assertEquals(List.of("r", "w2", "b2", "x"), second.inputs());
        assertEquals(List.of("y"), second.outputs());
        Graph body = FuseOps.body(second);
        assertEquals(List.of("y"), body.outputs());
        assertEquals(List.of("r", "x"), body.inputs().stream().map(v -> v.name()).toList());
        assertTrue(body.isConstant("w2") && body.isConstant("b2"));
        assertTrue(g.toString().contains("Fused(r, w2, b2, x) {body=graph Conv+Add+Relu}"), g.toString());
    }

    @Test
    void anIntermediateThatIsAGraphOutputEndsTheGroup() {
        Graph g = inferred(block().output("y", "c"));
        FuseOps.run(g);
        assertEquals(List.of("Conv+Relu", "Conv", "Add+Relu"), describe(g));
    }

    @Test
    void anIntermediateReadOutsideTheGroupEndsTheGroup() {
        Graph g = inferred(block().node("Sigmoid", List.of("e"), List.of("z")).output("y", "z"));
        FuseOps.run(g);
        assertEquals(List.of("Conv+Relu", "Conv+Add", "Relu", "Sigmoid"), describe(g));
    }

    /** BERT's GELU after a MatMul with bias: x = MatMul + b; y = x * (erf(x / sqrt2) + 1) * 0.5. */
    @Test
    void geluReadingItsInputTwiceFusesIntoTheMatMul() {
        Graph g = inferred(new GraphBuilder("gelu").input("a", DType.FLOAT32, 2, 8, 16)
                .init("w", zeros(16, 32)).init("bias", zeros(32))
                .init("sqrt2", Tensor.ofFloats(Shape.SCALAR, 1.4142135f))
                .init("one", Tensor.ofFloats(Shape.SCALAR, 1f)).init("half", Tensor.ofFloats(Shape.SCALAR, 0.5f))
                .node("MatMul", List.of("a", "w"), List.of("m"))
                .node("Add", List.of("bias", "m"), List.of("x"))
                .node("Div", List.of("x", "sqrt2"), List.of("d"))
                .node("Erf", List.of("d"), List.of("e"))
                .node("Add", List.of("e", "one"), List.of("p"))
                .node("Mul", List.of("x", "p"), List.of("q"))
                .node("Mul", List.of("q", "half"), List.of("y"))
                .node("MatMul", List.of("y", "w2"), List.of("z"))
                .init("w2", zeros(32, 4))
                .output("z"));
        assertEquals(1, FuseOps.run(g));
        assertEquals(List.of("MatMul+Add+Div+Erf+Add+Mul+Mul", "MatMul"), describe(g));
        assertEquals(List.of("a", "w", "bias", "sqrt2", "one", "half"), g.nodes().get(0).inputs());
    }

    @Test
    void anOpThatBroadcastsTheGroupValueIsNotAbsorbed() {
        Graph g = inferred(new GraphBuilder("bc").input("a", DType.FLOAT32, 4, 1).input("b", DType.FLOAT32, 4, 8)
                .node("Relu", List.of("a"), List.of("r"))
                .node("Add", List.of("r", "b"), List.of("y"))
                .output("y"));
        assertEquals(0, FuseOps.run(g));
        assertEquals(List.of("Relu", "Add"), describe(g));
    }

    @Test
    void movementOpsAreNotFused() {
        Graph g = inferred(new GraphBuilder("mv").input("a", DType.FLOAT32, 4, 8)
                .node("Relu", List.of("a"), List.of("r"))
                .node("Transpose", List.of("r"), List.of("t"), "perm", new int[] {1, 0})
                .node("Relu", List.of("t"), List.of("y"))
                .output("y"));
        assertEquals(0, FuseOps.run(g));
        assertFalse(g.nodes().stream().anyMatch(FuseOps::isFused));
    }

    @Test
    void aReshapeOfTheGroupValueJoinsAndLaterOpsUseItsShape() {
        Graph g = inferred(new GraphBuilder("rs").input("a", DType.FLOAT32, 4, 6).input("b", DType.FLOAT32, 2, 12)
                .init("shape", Tensor.ofLongs(new Shape(2), 2, 12))
                .node("Relu", List.of("a"), List.of("r"))
                .node("Reshape", List.of("r", "shape"), List.of("s"))
                .node("Add", List.of("s", "b"), List.of("y"))
                .output("y"));
        assertEquals(1, FuseOps.run(g));
        assertEquals(List.of("Relu+Reshape+Add"), describe(g));
    }
}
