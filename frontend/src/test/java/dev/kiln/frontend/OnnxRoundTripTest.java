package dev.kiln.frontend;

import static dev.kiln.frontend.GraphAssert.assertSameGraph;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.NodeProto;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Correctness: write then read gives back the same graph, and what is written is valid ONNX as the proto says. */
class OnnxRoundTripTest {
    static List<String> zooNames() {
        return Zoo.names();
    }

    @ParameterizedTest
    @MethodSource("zooNames")
    void zooModelSurvivesWriteAndRead(String name) throws Exception {
        Graph g = Zoo.build(name);
        byte[] bytes = Zoo.onnxBytes(name);
        Graph back = OnnxReader.read(bytes, name + ".onnx", null, Map.of());
        assertSameGraph(g, back);
        assertEquals(g.values().get("output"), back.values().get("output"), "declared output type");
        // Writing the read graph again gives the same bytes: nothing is lost or reordered.
        assertArrayEquals(bytes, OnnxWriter.write(back, OnnxWriter.IR_VERSION));
    }

    @Test
    void writtenModelHasTheProtoFieldsRuntimesExpect() throws Exception {
        ModelProto m = ModelProto.parseFrom(Zoo.onnxBytes("mlp"));
        assertEquals(8, m.getIrVersion());
        assertEquals("kiln", m.getProducerName());
        assertEquals(1, m.getOpsetImportCount());
        assertEquals("", m.getOpsetImport(0).getDomain());
        assertEquals(13, m.getOpsetImport(0).getVersion());
        var g = m.getGraph();
        assertEquals(1, g.getInputCount(), "initializers are not listed as inputs");
        assertEquals("input", g.getInput(0).getName());
        assertEquals(1, g.getInput(0).getType().getTensorType().getElemType());
        assertEquals(List.of(1L, 784L), g.getInput(0).getType().getTensorType().getShape().getDimList().stream().map(d -> d.getDimValue()).toList());
        assertEquals(List.of(1L, 10L), g.getOutput(0).getType().getTensorType().getShape().getDimList().stream().map(d -> d.getDimValue()).toList());
        assertEquals(6, g.getInitializerCount(), "3 Gemm layers with weight and bias");
        for (var t : g.getInitializerList()) {
            assertTrue(t.hasRawData(), t.getName());
            long numel = t.getDimsList().stream().reduce(1L, (a, b) -> a * b);
            assertEquals(numel * 4, t.getRawData().size(), t.getName());
        }
        NodeProto gemm = g.getNode(0);
        assertEquals("Gemm", gemm.getOpType());
        AttributeProto transB = gemm.getAttributeList().stream().filter(a -> a.getName().equals("transB")).findFirst().orElseThrow();
        assertEquals(AttributeProto.AttributeType.INT, transB.getType());
        assertEquals(1, transB.getI());
    }

    @Test
    void everyAttributeKindAndDtypeRoundTrips() {
        Graph g = new Graph("kinds");
        g.opsets().put("", 17);
        g.opsets().put("com.example", 2);
        g.inputs().add(new Value("x", DType.FLOAT32, new Shape(2, 3)));
        g.outputs().add("y");
        int i = 0;
        for (DType t : DType.values()) {
            Tensor v = Tensor.generate(t, new Shape(2, 2), k -> k * 7 - 9.75);
            g.initializers().put("c_" + t.numpyName, v);
            i++;
        }
        Graph body = new Graph("body");
        body.inputs().add(new Value("b_in", DType.FLOAT32, new Shape(2, 3)));
        body.inputs().add(new Value("b_untyped", null, null));
        body.inputs().add(new Value("b_unshaped", DType.INT64, null));
        body.outputs().add("b_out");
        body.setNodes(List.of(new Node("neg", "Neg", "", List.of("b_in"), List.of("b_out"), Map.of(), 17)));
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("i", new Attr.Int(-5_000_000_000L));
        attrs.put("f", new Attr.Float(-0.125f));
        attrs.put("s", new Attr.Str("héllo"));
        attrs.put("ints", new Attr.Ints(new long[] {1, -2, 3}));
        attrs.put("floats", new Attr.Floats(new float[] {1.5f, Float.NaN, -0f}));
        attrs.put("strs", new Attr.Strs(List.of("a", "", "b")));
        attrs.put("t", new Attr.TensorAttr(Tensor.ofLongs(new Shape(3), 4, 5, 6)));
        attrs.put("g", new Attr.GraphAttr(body));
        g.setNodes(List.of(
                new Node("custom", "Frob", "com.example", List.of("x", "c_float32", ""), List.of("z"), attrs, 2),
                new Node("relu", "Relu", "", List.of("z"), List.of("y"), Map.of(), 17)));
        Graph back = OnnxReader.read(OnnxWriter.write(g, 8), "kinds.onnx", null, Map.of());
        assertSameGraph(g, back);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(((Attr.Floats) back.nodes().get(0).attrs().get("floats")).values()[2]));
    }

    @Test
    void writeToFileReplacesAtomicallyAndLeavesNoTemporaryFiles(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mlp.onnx");
        Files.writeString(file, "old contents");
        OnnxWriter.write(Zoo.build("mlp"), file);
        assertArrayEquals(Zoo.onnxBytes("mlp"), Files.readAllBytes(file));
        try (var s = Files.list(dir)) {
            assertEquals(List.of(file), s.toList(), "only the model is left in the directory");
        }
        assertSameGraph(Zoo.build("mlp"), OnnxReader.read(file, null));
    }

    @Test
    void writeIntoMissingDirectoryFailsClearly(@TempDir Path dir) {
        Path file = dir.resolve("no/such/dir/m.onnx");
        KilnException e = assertThrows(KilnException.class, () -> OnnxWriter.write(Zoo.build("mlp"), file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("no such directory"), e.getMessage());
    }

    @Test
    void graphWithoutOpsetsGetsTheDefault() throws Exception {
        Graph g = new Graph("noopset");
        g.inputs().add(new Value("x", DType.FLOAT32, new Shape(1)));
        g.outputs().add("y");
        g.setNodes(List.of(new Node("r", "Relu", "", List.of("x"), List.of("y"), Map.of(), 17)));
        ModelProto m = ModelProto.parseFrom(OnnxWriter.write(g, 8));
        assertEquals(17, m.getOpsetImport(0).getVersion());
        assertEquals(Map.of("", 17), OnnxReader.read(m.toByteArray(), "m", null, null).opsets());
    }
}
