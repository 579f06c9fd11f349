package dev.kiln.frontend.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Correctness of the zoo's architectures (counted against the published ones) and of its weights. */
class ZooTest {
    @Test
    void names() {
        assertEquals(List.of("resnet18", "mobilenetv2", "bert", "mlp", "lstm"), Zoo.names());
    }

    @Test
    void unknownNameListsTheZoo() {
        KilnException e = assertThrows(KilnException.class, () -> Zoo.build("resnet50"));
        assertTrue(e.getMessage().contains("'resnet50'") && e.getMessage().contains("resnet18, mobilenetv2, bert, mlp"), e.getMessage());
    }

    @Test
    void buildsAreDeterministic() {
        assertArrayEquals(dev.kiln.frontend.OnnxWriter.write(Zoo.build("mlp"), 8), dev.kiln.frontend.OnnxWriter.write(Zoo.build("mlp"), 8));
        assertTrue(Zoo.onnxBytes("mlp") == Zoo.onnxBytes("mlp"), "cached per JVM");
    }

    private static long count(Graph g, String op) {
        return g.nodes().stream().filter(n -> n.op().equals(op)).count();
    }

    private static long parameters(Graph g, Predicate<String> name) {
        return g.initializers().entrySet().stream().filter(e -> name.test(e.getKey())).mapToLong(e -> e.getValue().shape().numel()).sum();
    }

    @Test
    void resnet18MatchesTorchvision() {
        Graph g = Zoo.build("resnet18");
        assertEquals(new Shape(1, 3, 224, 224), g.inputs().get(0).shape());
        assertEquals(List.of("output"), g.outputs());
        assertEquals(13, g.opsets().get(""));
        assertEquals(20, count(g, "Conv"), "1 stem + 16 block convs + 3 downsample convs");
        assertEquals(20, count(g, "BatchNormalization"));
        assertEquals(8, count(g, "Add"));
        assertEquals(1, count(g, "MaxPool"));
        assertEquals(1, count(g, "Gemm"));
        // torchvision resnet18 has 11,689,512 parameters (BN running stats are buffers, not parameters).
        assertEquals(11_689_512L, parameters(g, n -> !n.endsWith("running_mean") && !n.endsWith("running_var")));
    }

    @Test
    void mobilenetV2MatchesTorchvision() {
        Graph g = Zoo.build("mobilenetv2");
        assertEquals(52, count(g, "Conv"), "stem + 17 blocks (16 with expansion: 3 convs, first: 2) + last 1x1");
        assertEquals(10, count(g, "Add"), "residual blocks: stride 1 with equal channels");
        assertEquals(35, count(g, "Clip"));
        Node dw = g.nodes().stream().filter(n -> n.op().equals("Conv") && n.attrInt("group", 1) > 1).findFirst().orElseThrow();
        assertEquals(32, dw.attrInt("group", 1), "first depthwise conv: one group per channel");
        Node clip = g.nodes().stream().filter(n -> n.op().equals("Clip")).findFirst().orElseThrow();
        assertEquals(3, clip.inputs().size(), "Clip min/max are inputs at opset 13");
        assertEquals(Tensor.ofFloats(Shape.SCALAR, 6f), g.initializers().get(clip.input(2)));
        // torchvision mobilenet_v2 has 3,504,872 parameters.
        assertEquals(3_504_872L, parameters(g, n -> !n.endsWith("running_mean") && !n.endsWith("running_var") && !n.endsWith(".min") && !n.endsWith(".max")));
    }

    @Test
    void bertHasTheEncoderPattern() {
        Graph g = Zoo.build("bert");
        assertEquals(17, g.opsets().get(""));
        assertEquals(new Shape(1, 128, 768), g.inputs().get(0).shape());
        assertEquals(2 * 8, count(g, "MatMul"), "per layer: Q, K, V, QK^T, PV, output projection, 2 FFN");
        assertEquals(2 * 2, count(g, "LayerNormalization"));
        assertEquals(2, count(g, "Softmax"));
        assertEquals(2, count(g, "Erf"));
        assertEquals(2 * 4, count(g, "Transpose"));
        assertEquals(2 * 4, count(g, "Reshape"));
        long[] perms = g.nodes().stream().filter(n -> n.op().equals("Transpose")).limit(4)
                .mapToLong(n -> n.attrInts("perm", null)[2] * 10 + n.attrInts("perm", null)[3]).toArray();
        assertArrayEquals(new long[] {13, 31, 13, 13}, perms, "Q [0,2,1,3], K [0,2,3,1], V and context [0,2,1,3]");
        // Per layer: 4 x (768x768 + 768) + 768x3072 + 3072 + 3072x768 + 768 + 2 x (768 + 768) = 7,087,872.
        assertEquals(2 * 7_087_872L, parameters(g, n -> true));
    }

    @Test
    void mlpShapes() {
        Graph g = Zoo.build("mlp");
        assertEquals(new Shape(1, 784), g.inputs().get(0).shape());
        assertEquals(List.of("Gemm", "Relu", "Gemm", "Relu", "Gemm"), g.nodes().stream().map(Node::op).toList());
        assertEquals(784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10, parameters(g, n -> true));
    }

    @Test
    void weightsAreScaledAndNotDegenerate() {
        for (String name : Zoo.names()) {
            for (var e : Zoo.build(name).initializers().entrySet()) {
                Tensor t = e.getValue();
                if (!e.getKey().endsWith(".weight") || t.shape().rank() < 2) continue;
                double sq = 0;
                for (float v : t.floats()) sq += v * v;
                double std = Math.sqrt(sq / t.size());
                long fanIn = t.shape().numel() / t.shape().dim(e.getKey().contains("MatMul") ? 1 : 0);
                // He or LeCun scaling: std between sqrt(1/fanIn) and sqrt(2/fanIn), within sampling noise.
                assertTrue(std > 0.9 * Math.sqrt(1.0 / fanIn) && std < 1.1 * Math.sqrt(2.0 / fanIn), name + " " + e.getKey() + " std " + std);
            }
        }
    }

    @Test
    void modelSourceLoadsZooModelsAndChecksShapes() {
        assertEquals("mlp", ModelSource.load("zoo:mlp", null).name());
        assertEquals("mlp", ModelSource.load("zoo:mlp", Map.of("input", new long[] {1, 784})).name());
        KilnException wrong = assertThrows(KilnException.class, () -> ModelSource.load("zoo:mlp", Map.of("input", new long[] {4, 784})));
        assertTrue(wrong.getMessage().contains("fixed input shape [1,784]"), wrong.getMessage());
        KilnException unknown = assertThrows(KilnException.class, () -> ModelSource.load("zoo:mlp", Map.of("x", new long[] {1, 784})));
        assertTrue(unknown.getMessage().contains("its inputs are input"), unknown.getMessage());
        KilnException noModel = assertThrows(KilnException.class, () -> ModelSource.load("zoo:nope", null));
        assertTrue(noModel.getMessage().contains("unknown zoo model 'nope'"), noModel.getMessage());
    }
}
