package dev.kiln.frontend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import java.util.Map;

/** Structural equality of graphs (Attr records holding arrays compare by identity, so compare by hand). */
final class GraphAssert {
    private GraphAssert() {}

    static void assertSameGraph(Graph expected, Graph actual) {
        assertEquals(expected.name(), actual.name(), "graph name");
        assertEquals(expected.inputs(), actual.inputs(), "inputs");
        assertEquals(expected.outputs(), actual.outputs(), "outputs");
        assertEquals(expected.opsets(), actual.opsets(), "opsets");
        assertEquals(List.copyOf(expected.initializers().keySet()), List.copyOf(actual.initializers().keySet()), "initializer names and order");
        for (var e : expected.initializers().entrySet()) {
            Tensor a = actual.initializers().get(e.getKey());
            assertEquals(e.getValue().dtype(), a.dtype(), e.getKey());
            assertEquals(e.getValue().shape(), a.shape(), e.getKey());
            assertArrayEquals(e.getValue().toBytes(), a.toBytes(), "bytes of initializer " + e.getKey());
        }
        assertEquals(expected.nodes().size(), actual.nodes().size(), "node count");
        for (int i = 0; i < expected.nodes().size(); i++) assertSameNode(expected.nodes().get(i), actual.nodes().get(i));
    }

    static void assertSameNode(Node e, Node a) {
        String where = e.describe();
        assertEquals(e.name(), a.name(), where);
        assertEquals(e.op(), a.op(), where);
        assertEquals(e.domain(), a.domain(), where);
        assertEquals(e.opset(), a.opset(), where);
        assertEquals(e.inputs(), a.inputs(), where);
        assertEquals(e.outputs(), a.outputs(), where);
        assertEquals(List.copyOf(e.attrs().keySet()), List.copyOf(a.attrs().keySet()), where + " attribute names");
        for (Map.Entry<String, Attr> x : e.attrs().entrySet()) assertSameAttr(x.getValue(), a.attrs().get(x.getKey()), where + " ." + x.getKey());
    }

    static void assertSameAttr(Attr e, Attr a, String where) {
        switch (e) {
            case Attr.Ints(long[] v) when a instanceof Attr.Ints(long[] w) -> assertArrayEquals(v, w, where);
            case Attr.Floats(float[] v) when a instanceof Attr.Floats(float[] w) -> assertArrayEquals(v, w, where);
            case Attr.TensorAttr(Tensor v) when a instanceof Attr.TensorAttr(Tensor w) -> {
                assertEquals(v.dtype(), w.dtype(), where);
                assertEquals(v.shape(), w.shape(), where);
                assertArrayEquals(v.toBytes(), w.toBytes(), where);
            }
            case Attr.GraphAttr(Graph v) when a instanceof Attr.GraphAttr(Graph w) -> assertSameGraph(v, w);
            case Attr.Ints x -> fail(where + ": expected ints, got " + a);
            case Attr.Floats x -> fail(where + ": expected floats, got " + a);
            case Attr.TensorAttr x -> fail(where + ": expected a tensor, got " + a);
            case Attr.GraphAttr x -> fail(where + ": expected a graph, got " + a);
            default -> assertEquals(e, a, where); // Int, Float, Str, Strs are value records
        }
    }
}
