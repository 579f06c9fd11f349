package dev.kiln.frontend;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.kiln.frontend.onnx.OnnxProto.AttributeProto;
import dev.kiln.frontend.onnx.OnnxProto.ModelProto;
import dev.kiln.frontend.onnx.OnnxProto.StringStringEntryProto;
import dev.kiln.frontend.onnx.OnnxProto.TensorProto;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.KilnException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Error: malformed models and wrong --input-shape values give one clear message naming the file and the culprit. */
class OnnxReaderErrorTest {
    @TempDir
    Path dir;

    private KilnException readError(ModelProto.Builder m, Map<String, long[]> shapes) throws Exception {
        Path file = dir.resolve("bad.onnx");
        Files.write(file, m.build().toByteArray());
        KilnException e = assertThrows(KilnException.class, () -> OnnxReader.read(file, shapes));
        assertMentions(e, file.toString());
        return e;
    }

    private static void assertMentions(KilnException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message should mention '" + p + "': " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one paragraph: " + e.getMessage());
    }

    @Test
    void missingFile() {
        Path file = dir.resolve("nope.onnx");
        KilnException e = assertThrows(KilnException.class, () -> OnnxReader.read(file, Map.of()));
        assertMentions(e, file.toString(), "does not exist");
    }

    @Test
    void directoryInsteadOfFile() {
        KilnException e = assertThrows(KilnException.class, () -> OnnxReader.read(dir, Map.of()));
        assertMentions(e, dir.toString(), "directory");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.5, 0.01, 0.999})
    void truncatedZooModel(double keep) throws Exception {
        byte[] full = Zoo.onnxBytes("mlp");
        Path file = dir.resolve("truncated.onnx");
        Files.write(file, Arrays.copyOf(full, (int) (full.length * keep)));
        KilnException e = assertThrows(KilnException.class, () -> OnnxReader.read(file, Map.of()));
        assertMentions(e, file.toString(), "not a valid ONNX model");
    }

    @Test
    void modelCutRightAfterItsGraphLacksOpsets() throws Exception {
        // Protobuf writes fields in number order, so cutting before opset_import (field 8) still parses.
        ModelProto full = ModelProto.parseFrom(Zoo.onnxBytes("mlp"));
        KilnException e = readError(full.toBuilder().clearOpsetImport(), Map.of());
        assertMentions(e, "declares no opset");
    }

    @Test
    void garbageBytes() throws Exception {
        Path file = dir.resolve("garbage.onnx");
        Files.write(file, "this is a text file, not a model\n".getBytes(StandardCharsets.UTF_8));
        KilnException e = assertThrows(KilnException.class, () -> OnnxReader.read(file, Map.of()));
        assertMentions(e, file.toString(), "not a valid ONNX model");
    }

    @Test
    void emptyFileHasNoGraph() throws Exception {
        Path file = dir.resolve("empty.onnx");
        Files.write(file, new byte[0]);
        KilnException e = assertThrows(KilnException.class, () -> OnnxReader.read(file, Map.of()));
        assertMentions(e, file.toString(), "no graph");
    }

    @Test
    void emptyGraph() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().clearNode();
        assertMentions(readError(m, Map.of()), "empty graph");
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 14, 15})
    void unsupportedInitializerDtype(int code) throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, m.getGraph().getInitializer(0).toBuilder().setDataType(code));
        KilnException e = readError(m, Map.of());
        assertMentions(e, "initializer 'w'", TensorProto.DataType.forNumber(code).name(), "does not support");
    }

    @Test
    void unsupportedInputDtype() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 14, 1L, 4L));
        assertMentions(readError(m, Map.of()), "input 'x'", "COMPLEX64");
    }

    @Test
    void initializerRawDataOfWrongSize() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, m.getGraph().getInitializer(0).toBuilder().setRawData(ByteString.copyFrom(new byte[12])));
        assertMentions(readError(m, Map.of()), "initializer 'w'", "12 bytes", "16 bytes");
    }

    @Test
    void initializerTypedFieldOfWrongSize() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, TensorProto.newBuilder().setName("w").setDataType(1).addDims(1).addDims(4)
                .addFloatData(1).addFloatData(2).addFloatData(3));
        assertMentions(readError(m, Map.of()), "initializer 'w'", "3 values in float_data", "4 values");
    }

    @Test
    void externalDataFileMissing() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, external("w", "weights.bin", 0));
        assertMentions(readError(m, Map.of()), "initializer 'w'", dir.resolve("weights.bin").toString(), "does not exist");
    }

    @Test
    void externalDataFileTooShort() throws Exception {
        Files.write(dir.resolve("weights.bin"), new byte[20]);
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, external("w", "weights.bin", 8));
        assertMentions(readError(m, Map.of()), "initializer 'w'", dir.resolve("weights.bin").toString(), "only 20 bytes");
    }

    @Test
    void externalDataOutsideTheModelDirectory() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, external("w", "../../etc/passwd", 0));
        assertMentions(readError(m, Map.of()), "initializer 'w'", "outside the model's directory");
    }

    @Test
    void externalDataFromMemoryHasNoDirectory() {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInitializer(0, external("w", "weights.bin", 0));
        KilnException e = assertThrows(KilnException.class, () -> OnnxReader.read(m.build().toByteArray(), "mem.onnx", null, Map.of()));
        assertMentions(e, "mem.onnx", "initializer 'w'", "weights.bin");
    }

    static TensorProto external(String name, String location, long offset) {
        return TensorProto.newBuilder().setName(name).setDataType(1).addDims(1).addDims(4)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue("16"))
                .build();
    }

    @Test
    void unboundDynamicDimension() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 1, "batch", 3L, 224L, 224L));
        KilnException e = readError(m, Map.of());
        assertMentions(e, "input 'x'", "dynamic dimension 'batch' (dim 0)", "--input-shape x=1,3,224,224");
    }

    @Test
    void unnamedDynamicDimension() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 1, 1L, null));
        assertMentions(readError(m, Map.of()), "input 'x'", "(dim 1)", "--input-shape x=1,1");
    }

    @Test
    void inputShapeOfWrongRank() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 1, "N", 3L, 224L, 224L));
        KilnException e = readError(m, Map.of("x", new long[] {1, 3, 224}));
        assertMentions(e, "--input-shape x=1,3,224", "input 'x'", "rank 4 ([N,3,224,224])");
    }

    @Test
    void inputShapeConflictingWithStaticDimension() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 1, "N", 3L, 224L, 224L));
        KilnException e = readError(m, Map.of("x", new long[] {1, 4, 224, 224}));
        assertMentions(e, "--input-shape x=1,4,224,224", "dim 1 is fixed at 3");
    }

    @Test
    void inputShapeForUnknownName() throws Exception {
        KilnException e = readError(Protos.reluAddModel(), Map.of("image", new long[] {1, 4}));
        assertMentions(e, "--input-shape image=1,4", "no input named 'image'", "its inputs are x");
    }

    @Test
    void inputShapeForAnInitializerIsNotAnInput() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().addInput(Protos.tensorInfo("w", 1, 1L, 4L)); // IR<4 style: initializer listed as input
        assertMentions(readError(m, Map.of("w", new long[] {1, 4})), "no input named 'w'", "its inputs are x");
    }

    @Test
    void nonPositiveInputShape() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().setInput(0, Protos.tensorInfo("x", 1, "N", 4L));
        assertMentions(readError(m, Map.of("x", new long[] {0, 4})), "--input-shape x=0,4", "positive");
    }

    @Test
    void nodeUsingAnUndefinedValue() throws Exception {
        var m = Protos.reluAddModel();
        m.getGraphBuilder().clearInitializer(); // 'w' is now missing
        KilnException e = readError(m, Map.of());
        assertMentions(e, "node 'add'", "'w'", "missing initializer");
    }

    @Test
    void cycle() throws Exception {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.setNode(0, g.getNode(0).toBuilder().setInput(0, "y"));
        assertMentions(readError(m, Map.of()), "cycle");
    }

    @Test
    void unknownAttributeType() throws Exception {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.setNode(0, g.getNode(0).toBuilder().addAttribute(AttributeProto.newBuilder().setName("mystery")));
        assertMentions(readError(m, Map.of()), "attribute 'mystery'", "node 'relu'", "unknown or missing attribute type");
    }

    @Test
    void unsupportedAttributeType() throws Exception {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.setNode(0, g.getNode(0).toBuilder().addAttribute(AttributeProto.newBuilder().setName("ts")
                .setType(AttributeProto.AttributeType.TENSORS).addTensors(Protos.floatTensor("", new long[] {1}, 1f))));
        assertMentions(readError(m, Map.of()), "attribute 'ts'", "TENSORS", "does not support");
    }

    @Test
    void badTensorInsideAttributeNamesTheNode() throws Exception {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.setNode(0, g.getNode(0).toBuilder().addAttribute(AttributeProto.newBuilder().setName("value")
                .setType(AttributeProto.AttributeType.TENSOR).setT(TensorProto.newBuilder().setDataType(1).addDims(3).addFloatData(1))));
        assertMentions(readError(m, Map.of()), "tensor attribute 'value' of node 'relu'", "1 values in float_data");
    }

    @Test
    void undeclaredDomain() throws Exception {
        var m = Protos.reluAddModel();
        var g = m.getGraphBuilder();
        g.setNode(0, g.getNode(0).toBuilder().setDomain("com.microsoft"));
        assertMentions(readError(m, Map.of()), "node 'relu'", "'com.microsoft'", "does not import");
    }

    @Test
    void sequenceTypedInput() throws Exception {
        var m = Protos.reluAddModel();
        var x = m.getGraph().getInput(0);
        var seq = dev.kiln.frontend.onnx.OnnxProto.TypeProto.newBuilder()
                .setSequenceType(dev.kiln.frontend.onnx.OnnxProto.TypeProto.Sequence.newBuilder().setElemType(x.getType()));
        m.getGraphBuilder().setInput(0, x.toBuilder().setType(seq));
        assertMentions(readError(m, Map.of()), "input 'x'", "sequence", "not a tensor");
    }
}
