package dev.kiln.irhigh.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * An fp16 graph computed in fp32 with a rounding to fp16 after every op that computes: the same
 * results as the fp16 graph (each op rounded at its output; at most one fp16 step apart where
 * double rounding through fp32 lands the other way), fp32 values only inside, the 16-bit input
 * and output kept.
 */
class WidenHalfTest {
    private static Graph model(DType half) {
        SplittableRandom rng = new SplittableRandom(41);
        return new GraphBuilder("g").opset(17)
                .input("x", half, 3, 16)
                .init("w", Tensor.generate(half, new Shape(16, 8), i -> rng.nextDouble(-1, 1)))
                .init("b", Tensor.generate(half, new Shape(8), i -> rng.nextDouble(-1, 1)))
                .init("shape", Tensor.ofLongs(new Shape(2), 6, 4))
                .node("MatMul", List.of("x", "w"), List.of("m"))
                .node("Add", List.of("m", "b"), List.of("a"))
                .node("Sigmoid", List.of("a"), List.of("s"))
                .node("Reshape", List.of("s", "shape"), List.of("y"))
                .node("Cast", List.of("a"), List.of("z"), "to", 1L)
                .output("y", "z").build();
    }

    @Test
    void computesInFp32RoundingEachOpAsBefore() {
        for (DType half : List.of(DType.FLOAT16, DType.BFLOAT16)) {
            Graph g = model(half), wide = model(half);
            ShapeInference.run(g);
            ShapeInference.run(wide);
            assertTrue(WidenHalf.run(wide, true) > 0);
            ShapeInference.run(wide);
            assertEquals(half, wide.value("y").dtype(), "the output keeps its type");
            for (Node n : wide.nodes())
                for (String o : n.outputs())
                    if (!o.equals("y")) assertTrue(wide.value(o).dtype() != half || n.op().equals("Cast"), o + " of " + n.op() + " is still 16-bit");
            assertEquals(List.of("Cast", "Cast"), wide.nodes().stream().filter(n -> n.input(0).startsWith("s__f32raw")
                    || n.input(0).startsWith("s__rounded")).map(Node::op).toList(), "Sigmoid's result is rounded");
            assertTrue(wide.nodes().stream().noneMatch(n -> n.op().equals("Cast") && n.input(0).equals("y")), "a reshape needs no rounding");
            SplittableRandom rng = new SplittableRandom(43);
            Tensor x = Tensor.generate(half, new Shape(3, 16), i -> rng.nextDouble(-2, 2));
            Map<String, Tensor> a = Evaluator.run(g, Map.of("x", x)), b = Evaluator.run(wide, Map.of("x", x));
            float step = half == DType.FLOAT16 ? 1f / 1024 : 1f / 128;
            for (String out : List.of("y", "z"))
                for (int i = 0; i < a.get(out).size(); i++) {
                    double u = a.get(out).getDouble(i), v = b.get(out).getDouble(i);
                    assertTrue(Math.abs(u - v) <= step * Math.max(Math.abs(u), 1e-3), half + " " + out + "[" + i + "]: " + u + " vs " + v);
                }
        }
    }

    /** The round trips after an fp16 conv run on its blocked result: one conversion back to NCHW, at the end. */
    @Test
    void roundingsOfAConvChainStayBlocked() {
        SplittableRandom rng = new SplittableRandom(47);
        Graph g = new GraphBuilder("convs").opset(17)
                .input("x", DType.FLOAT16, 1, 16, 8, 8)
                .init("w1", Tensor.generate(DType.FLOAT16, new Shape(16, 16, 3, 3), i -> rng.nextDouble(-0.2, 0.2)))
                .init("w2", Tensor.generate(DType.FLOAT16, new Shape(16, 16, 3, 3), i -> rng.nextDouble(-0.2, 0.2)))
                .node("Conv", List.of("x", "w1"), List.of("c1"), "pads", new long[] {1, 1, 1, 1})
                .node("Relu", List.of("c1"), List.of("r1"))
                .node("Conv", List.of("r1", "w2"), List.of("y"), "pads", new long[] {1, 1, 1, 1})
                .output("y").build();
        ShapeInference.run(g);
        SplittableRandom in = new SplittableRandom(53);
        Tensor x = Tensor.generate(DType.FLOAT16, new Shape(1, 16, 8, 8), i -> in.nextDouble(-1, 1));
        Tensor before = Evaluator.run(g, Map.of("x", x)).get("y");
        WidenHalf.run(g, true);
        ShapeInference.run(g);
        BlockLayout.run(g, 16);
        long back = g.nodes().stream().filter(n -> n.op().equals(dev.kiln.irhigh.ops.Blocked.FROM)).count();
        assertEquals(1, back, "conversions back to NCHW: " + g.nodes().stream().map(Node::op).toList());
        Tensor after = Evaluator.run(g, Map.of("x", x)).get("y");
        for (int i = 0; i < before.size(); i++)
            assertTrue(Math.abs(before.getDouble(i) - after.getDouble(i)) <= Math.max(Math.abs(before.getDouble(i)), 1e-3) / 1024,
                    "y[" + i + "]: " + before.getDouble(i) + " vs " + after.getDouble(i));
    }
}
