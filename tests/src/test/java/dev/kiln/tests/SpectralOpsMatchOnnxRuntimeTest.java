package dev.kiln.tests;


import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * DFT and STFT with what the backend cases leave out (one-sided, complex input, a dft_length
 * longer or shorter than the signal, the axis in the middle of a 4-D input, a window whose frames
 * overlap): the native library and the reference evaluator both give ONNX Runtime's outputs ({@link OrtCheck}).
 */
class SpectralOpsMatchOnnxRuntimeTest {
    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("dft_onesided_padded", "DFT", new long[] {2, 50, 1}, 64L, Map.of("onesided", new Attr.Int(1), "axis", new Attr.Int(1))),
                Arguments.of("dft_complex_inverse_cut", "DFT", new long[] {3, 40, 2}, 32L, Map.of("inverse", new Attr.Int(1), "axis", new Attr.Int(1))),
                Arguments.of("dft_middle_axis", "DFT", new long[] {2, 3, 24, 2}, -1L, Map.of("axis", new Attr.Int(2))),
                Arguments.of("stft_hann_overlapping", "STFT", new long[] {2, 400, 1}, 64L, Map.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesOnnxRuntime(String name, String op, long[] shape, long length, Map<String, Attr> attrs) throws Exception {
        Graph g = new Graph(name);
        g.opsets().put("", 17);
        Value x = new Value("x", DType.FLOAT32, Shape.of(shape));
        g.inputs().add(x);
        g.values().put("x", x);
        List<String> in = new ArrayList<>(List.of("x"));
        if (op.equals("DFT")) {
            if (length > 0) g.initializers().put("n", Tensor.ofLongs(Shape.SCALAR, length));
            in.add(length > 0 ? "n" : "");
        } else {
            g.initializers().put("step", Tensor.ofLongs(Shape.SCALAR, 24));
            g.initializers().put("window", Tensor.generate(DType.FLOAT32, new Shape((int) length), i -> 0.5 - 0.5 * Math.cos(2 * Math.PI * i / length)));
            in.addAll(List.of("step", "window"));
        }
        g.setNodes(List.of(new Node(op, op, "", in, List.of("y"), attrs, 17)));
        g.outputs().add("y");
        OrtCheck.matches(dir, g, null, 1e-4, 1e-4);
    }
}
