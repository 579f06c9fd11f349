package dev.kiln.frontend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.GraphProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.OperatorSetIdProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Correctness: hand-built ONNX protos map to the expected Graph. */
class OnnxReaderTest {
    private static Graph read(ModelProto.Builder m, Map<String, long[]> shapes) {
        return OnnxReader.read(m.build().toByteArray(), "test.onnx", null, shapes);
    }

    @Test
    void mapsInputsInitializersNodesAndOutputs() {
        Graph g = read(Protos.reluAddModel(), Map.of());
        assertEquals("tiny", g.name());
        assertEquals(List.of(new Value("x", DType.FLOAT32, new Shape(1, 4))), g.inputs());
        assertEquals(List.of("y"), g.outputs());
        assertEquals(Tensor.ofFloats(new Shape(1, 4), 1f, 2f, 3f, 4f), g.initializers().get("w"));
        assertEquals(Map.of("", 13), g.opsets());
        assertEquals(List.of("Relu", "Add"), g.nodes().stream().map(Node::op).toList());
        assertEquals(List.of("r", "w"), g.nodes().get(1).inputs());
        assertEquals(13, g.nodes().get(1).opset());
        assertEquals(new Value("y", DType.FLOAT32, new Shape(1, 4)), g.values().get("y"), "declared static output type");
    }

    @Test
    void initializerListedAsInputIsNotARuntimeInput() {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().addInput(Protos.tensorInfo("w", 1, 1L, 4L));
        assertEquals(List.of("x"), read(m, Map.of()).inputs().stream().map(Value::name).toList());
    }

    @Test
    void dynamicDimensionsAreBoundByInputShapes() {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 1, "batch", 4L));
        m.getGraphBuilder().setOutput(0, Protos.tensorInfo("y", 1, "batch", 4L));
        Graph g = read(m, Map.of("x", new long[] {8, 4}));
        assertEquals(new Shape(8, 4), g.inputs().get(0).shape());
        assertEquals(null, g.values().get("y"), "a dynamic output shape is left to shape inference");
    }

    @Test
    void zeroSizedDimensionIsStatic() {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 1, 3L, 0L, 5L));
        assertEquals(new Shape(3, 0, 5), read(m, Map.of()).inputs().get(0).shape());
    }

    @Test
    void inputWithoutDeclaredShapeTakesTheGivenOne() {
        var m = Protos.reluAddModel();
        var x = m.getGraph().getInput(0);
        m.getGraphBuilder().setInput(0, x.toBuilder().setType(x.getType().toBuilder()
                .setTensorType(x.getType().getTensorType().toBuilder().clearShape())));
        assertEquals(new Shape(2, 4), read(m, Map.of("x", new long[] {2, 4})).inputs().get(0).shape());
    }

    @Test
    void opsetPerDomainAndAiOnnxAlias() {
        var m = Protos.reluAddModel();
        m.clearOpsetImport()
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("ai.onnx").setVersion(11))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1));
        var g = m.getGraphBuilder();
        g.setNode(0, g.getNode(0).toBuilder().setDomain("ai.onnx"));
        g.setNode(1, g.getNode(1).toBuilder().setDomain("com.microsoft").setOpType("FusedAdd"));
        Graph r = read(m, Map.of());
        assertEquals(Map.of("", 11, "com.microsoft", 1), r.opsets());
        assertEquals("", r.nodes().get(0).domain());
        assertEquals(11, r.nodes().get(0).opset());
        assertEquals("com.microsoft", r.nodes().get(1).domain());
        assertEquals(1, r.nodes().get(1).opset());
    }

    @Test
    void nodesListedOutOfOrderAreSortedAndUnnamedNodesGetNames() {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        var relu = g.getNode(0).toBuilder().clearName().build();
        var add = g.getNode(1).toBuilder().clearName().build();
        g.clearNode().addNode(add).addNode(relu);
        Graph r = read(m, Map.of());
        assertEquals(List.of("Relu", "Add"), r.nodes().stream().map(Node::op).toList());
        assertEquals(List.of("Relu_1", "Add_1"), r.nodes().stream().map(Node::name).toList());
    }

    @Test
    void typedDataFieldsOfEveryDtype() {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.addInitializer(typed("f32", 1).addFloatData(1.5f).addFloatData(-2f));
        g.addInitializer(typed("i8", 3).addInt32Data(-128).addInt32Data(127));
        g.addInitializer(typed("u8", 2).addInt32Data(255).addInt32Data(0));
        g.addInitializer(typed("i16", 5).addInt32Data(-32768).addInt32Data(7));
        g.addInitializer(typed("u16", 4).addInt32Data(65535).addInt32Data(1));
        g.addInitializer(typed("i32", 6).addInt32Data(Integer.MIN_VALUE).addInt32Data(-1));
        g.addInitializer(typed("b", 9).addInt32Data(1).addInt32Data(0));
        g.addInitializer(typed("f16", 10).addInt32Data(0x3C00).addInt32Data(0xC000)); // 1.0, -2.0 as half bit patterns
        g.addInitializer(typed("i64", 7).addInt64Data(Long.MIN_VALUE).addInt64Data(42));
        g.addInitializer(typed("f64", 11).addDoubleData(0.1).addDoubleData(-1e300));
        g.addInitializer(typed("u32", 12).addUint64Data(4_000_000_000L).addUint64Data(3));
        g.addInitializer(typed("u64", 13).addUint64Data(-1L).addUint64Data(5));
        Map<String, Tensor> t = read(m, Map.of()).initializers();
        Shape s = new Shape(2);
        assertEquals(Tensor.ofFloats(s, 1.5f, -2f), t.get("f32"));
        assertEquals(Tensor.of(DType.INT8, s, new long[] {-128, 127}), t.get("i8"));
        assertEquals(Tensor.of(DType.UINT8, s, new long[] {255, 0}), t.get("u8"));
        assertEquals(Tensor.of(DType.INT16, s, new long[] {-32768, 7}), t.get("i16"));
        assertEquals(Tensor.of(DType.UINT16, s, new long[] {65535, 1}), t.get("u16"));
        assertEquals(Tensor.of(DType.INT32, s, new long[] {Integer.MIN_VALUE, -1}), t.get("i32"));
        assertEquals(Tensor.of(DType.BOOL, s, new long[] {1, 0}), t.get("b"));
        assertEquals(Tensor.of(DType.FLOAT16, s, new float[] {1f, -2f}), t.get("f16"));
        assertEquals(Tensor.ofLongs(s, Long.MIN_VALUE, 42), t.get("i64"));
        assertEquals(Tensor.ofDoubles(s, 0.1, -1e300), t.get("f64"));
        assertEquals(Tensor.of(DType.UINT32, s, new long[] {4_000_000_000L, 3}), t.get("u32"));
        assertEquals(Tensor.of(DType.UINT64, s, new long[] {-1L, 5}), t.get("u64"));
    }

    private static TensorProto.Builder typed(String name, int code) {
        return TensorProto.newBuilder().setName(name).setDataType(code).addDims(2);
    }

    @Test
    void rawDataIsLittleEndianAndScalarsHaveNoDims() {
        var m = Protos.reluAddModel();
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0x0102030405060708L);
        m.getGraphBuilder().addInitializer(TensorProto.newBuilder().setName("s").setDataType(7)
                .setRawData(com.google.protobuf.ByteString.copyFrom(b.array())));
        assertEquals(Tensor.ofLongs(Shape.SCALAR, 0x0102030405060708L), read(m, Map.of()).initializers().get("s"));
    }

    @Test
    void externalDataIsReadRelativeToTheModelFile(@TempDir Path dir) throws Exception {
        ByteBuffer data = ByteBuffer.allocate(8 + 16 + 4).order(ByteOrder.LITTLE_ENDIAN);
        data.putLong(-1); // 8 bytes of something else first: the tensor starts at offset 8
        for (float f : new float[] {0.5f, -1f, 2f, 1e-3f}) data.putFloat(f);
        data.putInt(-1);
        Files.createDirectories(dir.resolve("data"));
        Files.write(dir.resolve("data/weights.bin"), data.array());
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, OnnxReaderErrorTest.external("w", "data/weights.bin", 8));
        Path file = dir.resolve("model.onnx");
        Files.write(file, m.build().toByteArray());
        Graph g = OnnxReader.read(file, Map.of());
        assertEquals(Tensor.ofFloats(new Shape(1, 4), 0.5f, -1f, 2f, 1e-3f), g.initializers().get("w"));
    }

    @Test
    void attributesOfEveryKindAndSubgraphs() {
        GraphProto body = GraphProto.newBuilder().setName("then")
                .addInput(dev.kiln.frontend.onnx.OnnxProto.ValueInfoProto.newBuilder().setName("untyped"))
                .addInput(Protos.tensorInfo("dyn", 7, "n", 2L))
                .addInput(Protos.tensorInfo("fixed", 1, 2L, 2L))
                .addNode(Protos.node("", "Neg", new String[] {"r"}, new String[] {"n"})) // 'r' is from the outer graph
                .addOutput(Protos.tensorInfo("n", 1, 1L, 4L))
                .build();
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.setNode(0, g.getNode(0).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("i").setType(AttributeProto.AttributeType.INT).setI(-3))
                .addAttribute(AttributeProto.newBuilder().setName("f").setType(AttributeProto.AttributeType.FLOAT).setF(0.25f))
                .addAttribute(AttributeProto.newBuilder().setName("s").setType(AttributeProto.AttributeType.STRING)
                        .setS(com.google.protobuf.ByteString.copyFromUtf8("NOTSET")))
                .addAttribute(AttributeProto.newBuilder().setName("is").setType(AttributeProto.AttributeType.INTS).addInts(1).addInts(2))
                .addAttribute(AttributeProto.newBuilder().setName("fs").setType(AttributeProto.AttributeType.FLOATS).addFloats(3f))
                .addAttribute(AttributeProto.newBuilder().setName("ss").setType(AttributeProto.AttributeType.STRINGS)
                        .addStrings(com.google.protobuf.ByteString.copyFromUtf8("a")))
                .addAttribute(AttributeProto.newBuilder().setName("t").setType(AttributeProto.AttributeType.TENSOR)
                        .setT(Protos.floatTensor("", new long[] {2}, 7f, 8f)))
                .addAttribute(AttributeProto.newBuilder().setName("g").setType(AttributeProto.AttributeType.GRAPH).setG(body))
                .addAttribute(AttributeProto.newBuilder().setName("old_style_ints").addInts(9))); // no type: IR version 1
        Map<String, Attr> a = read(m, Map.of()).nodes().get(0).attrs();
        assertEquals(new Attr.Int(-3), a.get("i"));
        assertEquals(new Attr.Float(0.25f), a.get("f"));
        assertEquals(new Attr.Str("NOTSET"), a.get("s"));
        assertArrayEquals(new long[] {1, 2}, ((Attr.Ints) a.get("is")).values());
        assertArrayEquals(new float[] {3f}, ((Attr.Floats) a.get("fs")).values());
        assertEquals(new Attr.Strs(List.of("a")), a.get("ss"));
        assertEquals(Tensor.ofFloats(new Shape(2), 7f, 8f), ((Attr.TensorAttr) a.get("t")).value());
        assertArrayEquals(new long[] {9}, ((Attr.Ints) a.get("old_style_ints")).values());
        Graph sub = assertInstanceOf(Attr.GraphAttr.class, a.get("g")).value();
        assertEquals("then", sub.name());
        assertEquals(List.of("n"), sub.outputs());
        assertEquals("Neg", sub.nodes().get(0).op());
        assertEquals(13, sub.nodes().get(0).opset(), "subgraph nodes use the model's opsets");
        assertEquals(List.of(new Value("untyped", null, null), new Value("dyn", DType.INT64, null),
                new Value("fixed", DType.FLOAT32, new Shape(2, 2))), sub.inputs(), "subgraph inputs are not bound");
    }

    @Test
    void constantNodesStayNodes() {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.clearInitializer();
        g.addNode(0, Protos.node("c", "Constant", new String[0], new String[] {"w"}, AttributeProto.newBuilder().setName("value")
                .setType(AttributeProto.AttributeType.TENSOR).setT(Protos.floatTensor("", new long[] {1, 4}, 1f, 2f, 3f, 4f)).build()));
        Graph r = read(m, Map.of());
        assertTrue(r.initializers().isEmpty());
        assertEquals(List.of("Constant", "Relu", "Add"), r.nodes().stream().map(Node::op).toList());
    }

    @Test
    void graphWithoutNameIsNamedAfterTheFile(@TempDir Path dir) throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().clearName();
        Path file = dir.resolve("my-model.onnx");
        Files.write(file, m.build().toByteArray());
        assertEquals("my-model", OnnxReader.read(file, null).name());
    }
}
