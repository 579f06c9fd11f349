package dev.kiln.frontend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.HashMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Correctness on files written by other tools: the ONNX backend test data (Debian package
 * libonnx-testdata). Skipped with a message where the package is not installed.
 */
class ThirdPartyModelsTest {
    static final Path DATA = Path.of("/usr/include/onnx/backend/test/data");

    private static Path model(String dir) {
        Path p = DATA.resolve(dir).resolve("model.onnx");
        assumeTrue(Files.isRegularFile(p), p + " is absent; install the Debian package libonnx-testdata to run this test");
        return p;
    }

    @Test
    void convWithStridesPadding() {
        Graph g = OnnxReader.read(model("node/test_conv_with_strides_padding"), Map.of());
        assertEquals(2, g.inputs().size());
        assertEquals(new Shape(1, 1, 7, 5), g.inputs().get(0).shape());
        assertEquals(new Shape(1, 1, 3, 3), g.inputs().get(1).shape());
        assertEquals(DType.FLOAT32, g.inputs().get(0).dtype());
        assertEquals(1, g.nodes().size());
        Node conv = g.nodes().get(0);
        assertEquals("Conv", conv.op());
        assertEquals(List.of("x", "W"), conv.inputs());
        assertArrayEquals(new long[] {3, 3}, conv.attrInts("kernel_shape", null));
        assertArrayEquals(new long[] {1, 1, 1, 1}, conv.attrInts("pads", null));
        assertArrayEquals(new long[] {2, 2}, conv.attrInts("strides", null));
        assertEquals(List.of("y"), g.outputs());
        assertEquals(new Shape(1, 1, 4, 3), g.value("y").shape());
        Value declared = g.value("y");
        ShapeInference.run(g);
        assertEquals(declared, g.value("y"), "ir-high infers the output type the file declares");
    }

    /** The model and its test data set, read by Kiln and run by the reference evaluator, give the stored outputs. */
    @ParameterizedTest
    @ValueSource(strings = {"node/test_conv_with_strides_padding", "simple/test_single_relu_model", "pytorch-converted/test_Conv2d"})
    void evaluatesToTheStoredOutputs(String dir) {
        Graph g = OnnxReader.read(model(dir), Map.of());
        Path data = DATA.resolve(dir).resolve("test_data_set_0");
        Map<String, Tensor> inputs = new HashMap<>();
        for (int i = 0; i < g.inputs().size(); i++) {
            OnnxReader.NamedTensor t = OnnxReader.readTensor(data.resolve("input_" + i + ".pb"));
            String name = t.name().isEmpty() ? g.inputs().get(i).name() : t.name();
            assertEquals(g.inputs().get(i).shape(), t.tensor().shape(), name);
            inputs.put(name, t.tensor());
        }
        Map<String, Tensor> out = Evaluator.run(g, inputs);
        for (int i = 0; i < g.outputs().size(); i++) {
            Tensor expected = OnnxReader.readTensor(data.resolve("output_" + i + ".pb")).tensor();
            Tensor actual = out.get(g.outputs().get(i));
            assertEquals(expected.shape(), actual.shape());
            for (int k = 0; k < expected.size(); k++)
                assertEquals(expected.getDouble(k), actual.getDouble(k), 1e-4 + 1e-3 * Math.abs(expected.getDouble(k)), dir + " output " + i + " element " + k);
        }
    }

    @Test
    void truncatedTensorFileFailsClearly(@TempDir Path tmp) throws Exception {
        Path src = DATA.resolve("node/test_conv_with_strides_padding/test_data_set_0/input_0.pb");
        assumeTrue(Files.isRegularFile(src), src + " is absent; install libonnx-testdata to run this test");
        byte[] b = Files.readAllBytes(src);
        Path cut = tmp.resolve("input_0.pb");
        Files.write(cut, java.util.Arrays.copyOf(b, b.length / 2));
        KilnException e = org.junit.jupiter.api.Assertions.assertThrows(KilnException.class, () -> OnnxReader.readTensor(cut));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
    }

    @Test
    void singleReluModel() {
        Graph g = OnnxReader.read(model("simple/test_single_relu_model"), Map.of());
        assertEquals(1, g.nodes().size());
        assertEquals("Relu", g.nodes().get(0).op());
        assertEquals(1, g.inputs().size());
        assertEquals(g.nodes().get(0).input(0), g.inputs().get(0).name());
        assertEquals(List.of(g.nodes().get(0).output(0)), g.outputs());
        assertTrue(g.opsets().containsKey(""));
    }

    @Test
    void pytorchConvertedConv2d() {
        Graph g = OnnxReader.read(model("pytorch-converted/test_Conv2d"), Map.of());
        List<Node> convs = g.nodes().stream().filter(n -> n.op().equals("Conv")).toList();
        assertEquals(1, convs.size(), g.toString());
        Node conv = convs.get(0);
        assertEquals(1, g.inputs().size(), "the weights are initializers, not inputs");
        assertEquals(4, g.inputs().get(0).shape().rank());
        String weight = conv.input(1);
        assertTrue(g.initializers().containsKey(weight), "conv weight is an initializer");
        assertEquals(4, g.initializers().get(weight).shape().rank());
        assertEquals(g.inputs().get(0).shape().dim(1), g.initializers().get(weight).shape().dim(1), "weight in-channels match the input");
        assertFalse(g.initializers().get(weight).floats().length == 0);
    }

    /** Every backend test model either reads or fails with a KilnException: never a crash of another kind. */
    @Test
    void everyBackendModelReadsOrFailsClearly() throws Exception {
        assumeTrue(Files.isDirectory(DATA.resolve("node")), DATA + " is absent; install libonnx-testdata to run this test");
        List<Path> models;
        try (Stream<Path> s = Files.walk(DATA, 3, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
            models = s.filter(p -> p.getFileName().toString().equals("model.onnx")).sorted().toList();
        }
        int ok = 0;
        List<String> failures = new ArrayList<>();
        for (Path p : models) {
            try {
                Graph g = OnnxReader.read(p, Map.of());
                assertFalse(g.nodes().isEmpty(), p.toString());
                ok++;
            } catch (KilnException e) {
                assertTrue(e.getMessage().contains(p.toString()), "error should name the file: " + e.getMessage());
                failures.add(e.getMessage());
            }
        }
        // Almost all of them use plain tensors; the rest use strings, bfloat16, sequences or optionals.
        assertTrue(ok > models.size() * 9 / 10, ok + " of " + models.size() + " read; failures: " + failures.subList(0, Math.min(20, failures.size())));
    }
}
