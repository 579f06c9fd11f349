package dev.kiln.frontend.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Correctness: the zoo graphs are well-formed for ir-high's shape inference, and the MLP computes what it should. */
class ZooInferenceTest {
    @ParameterizedTest
    @CsvSource({"resnet18, 1 1000", "mobilenetv2, 1 1000", "bert, 1 128 768", "mlp, 1 10"})
    void infersTheDeclaredOutputShape(String name, String dims) {
        Graph g = Zoo.build(name);
        Shape declared = g.values().get("output").shape();
        ShapeInference.run(g);
        Shape expected = Shape.of(java.util.Arrays.stream(dims.split(" ")).mapToLong(Long::parseLong).toArray());
        assertEquals(expected, declared);
        assertEquals(expected, g.value("output").shape());
    }

    @Test
    void intermediateShapesFollowTheArchitecture() {
        Graph resnet = Zoo.build("resnet18");
        ShapeInference.run(resnet);
        assertEquals(new Shape(1, 64, 56, 56), resnet.value(first(resnet, "MaxPool").output(0)).shape());
        assertEquals(new Shape(1, 512, 1, 1), resnet.value(first(resnet, "GlobalAveragePool").output(0)).shape());

        Graph mobilenet = Zoo.build("mobilenetv2");
        ShapeInference.run(mobilenet);
        assertEquals(new Shape(1, 1280, 7, 7), mobilenet.value(first(mobilenet, "GlobalAveragePool").input(0)).shape());

        Graph bert = Zoo.build("bert");
        ShapeInference.run(bert);
        assertEquals(new Shape(1, 12, 128, 128), bert.value(first(bert, "Softmax").output(0)).shape());
        assertEquals(new Shape(1, 128, 3072), bert.value(first(bert, "Erf").output(0)).shape());
    }

    private static Node first(Graph g, String op) {
        return g.nodes().stream().filter(n -> n.op().equals(op)).findFirst().orElseThrow();
    }

    /** The MLP through the reference evaluator agrees with a plain forward pass over its weights. */
    @Test
    void mlpEvaluatesToMeaningfulOutputs() {
        Graph g = Zoo.build("mlp");
        SplittableRandom r = new SplittableRandom(7);
        Tensor x = Tensor.generate(dev.kiln.irhigh.DType.FLOAT32, new Shape(1, 784), i -> r.nextDouble());
        float[] out = Evaluator.run(g, Map.of("input", x)).get("output").floats();

        List<Node> gemms = g.nodes().stream().filter(n -> n.op().equals("Gemm")).toList();
        double[] h = new double[784];
        for (int i = 0; i < h.length; i++) h[i] = x.floats()[i];
        for (int layer = 0; layer < 3; layer++) {
            Tensor w = g.initializers().get(gemms.get(layer).input(1)); // [out, in]: transB=1
            Tensor b = g.initializers().get(gemms.get(layer).input(2));
            int outs = w.shape().dim(0), ins = w.shape().dim(1);
            double[] y = new double[outs];
            for (int o = 0; o < outs; o++) {
                double s = b.floats()[o];
                for (int i = 0; i < ins; i++) s += (double) w.floats()[o * ins + i] * (float) h[i];
                y[o] = layer < 2 ? Math.max(0, (float) s) : (float) s;
            }
            h = y;
        }
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            assertTrue(Float.isFinite(out[i]), "output " + i + " is " + out[i]);
            assertEquals(h[i], out[i], 1e-5 + 1e-5 * Math.abs(h[i]), "output " + i);
            min = Math.min(min, out[i]);
            max = Math.max(max, out[i]);
        }
        assertTrue(max - min > 0.1, "outputs should differ from each other: " + java.util.Arrays.toString(out));
        assertTrue(max < 100 && min > -100, "outputs should be O(1): " + java.util.Arrays.toString(out));
    }
}
