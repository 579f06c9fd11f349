package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Ops and inputs without a native kernel fail with a message that names the node and says what to do. */
class OpInventoryErrorTest {
    private static KilnException lowerFails(Graph g) {
        return assertThrows(KilnException.class, () -> OpInventory.lower(g.nodes().get(0), g, AVX2));
    }

    @Test
    void unknownOpNamesNodeAndOp() {
        Graph g = new Graph("g");
        g.inputs().add(new Value("x", DType.FLOAT32, new Shape(3)));
        g.values().put("x", g.inputs().get(0));
        g.values().put("y", new Value("y", DType.FLOAT32, new Shape(3)));
        g.setNodes(List.of(new Node("frob_1", "FrobnicateTensor", "", List.of("x"), List.of("y"), Map.of(), 13)));
        String m = lowerFails(g).getMessage();
        assertTrue(m.contains("node 'frob_1' (FrobnicateTensor, opset 13)") && m.contains("no native kernel for op FrobnicateTensor"), m);
    }

    @Test
    void otherDomainIsRejected() {
        Graph g = new Graph("g");
        g.values().put("x", new Value("x", DType.FLOAT32, new Shape(3)));
        g.values().put("y", new Value("y", DType.FLOAT32, new Shape(3)));
        g.setNodes(List.of(new Node("q", "Relu", "com.microsoft", List.of("x"), List.of("y"), Map.of(), 1)));
        assertTrue(lowerFails(g).getMessage().contains("com.microsoft.Relu"));
    }

    @Test
    void indexSteeringInputMustBeConstant() {
        // Shape inference saw the pads as a constant; by lowering time it became a run-time input.
        Graph g = op("Pad").in(rand(3, 5)).constant(longs(1, 2, 0, 3)).graph();
        g.inputs().add(new Value("c1", DType.INT64, new Shape(4)));
        g.initializers().remove("c1");
        String m = lowerFails(g).getMessage();
        assertTrue(m.contains("Pad") && m.contains("'c1'") && m.contains("compile-time constant"), m);
    }

    @Test
    void constantProducersShouldHaveBeenFolded() {
        Graph g = op("Shape").in(rand(3, 5)).graph();
        assertTrue(lowerFails(g).getMessage().contains("FoldConstants"));
    }
}
