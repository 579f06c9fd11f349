package dev.kiln.frontend.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Zoo models at a batch other than 1: shapes follow the batch, weights and batch-1 models do not change. */
class ZooBatchTest {
    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "mobilenetv2", "bert", "mlp"})
    void batchChangesOnlyTheFirstDimension(String name) {
        Graph one = Zoo.build(name), three = Zoo.build(name, 3);
        assertArrayEquals(OnnxWriter.write(one, 8), OnnxWriter.write(Zoo.build(name, 1), 8), "batch 1 is the default model");
        assertEquals(one.initializers().keySet(), three.initializers().keySet());
        for (var e : one.initializers().entrySet()) assertEquals(e.getValue(), three.initializers().get(e.getKey()), e.getKey());

        Shape in1 = one.inputs().get(0).shape(), in3 = three.inputs().get(0).shape();
        Shape out1 = one.values().get("output").shape(), out3 = three.values().get("output").shape();
        assertEquals(batched(in1, 3), in3);
        assertEquals(batched(out1, 3), out3);
        ShapeInference.run(three); // every Reshape and Flatten agrees with the batch
        assertEquals(out3, three.value("output").shape());
    }

    private static Shape batched(Shape s, long batch) {
        long[] d = s.longDims().clone();
        assertEquals(1, d[0]);
        d[0] = batch;
        return Shape.of(d);
    }

    @Test
    void batchMustBePositive() {
        KilnException e = assertThrows(KilnException.class, () -> Zoo.build("mlp", 0));
        assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
    }

    /**
     * Each row of a batch-N output is the batch-1 output of that input row: the MLP's output, and
     * for BERT (whose per-head Reshapes carry the batch) the first attention block's output, which
     * the interpreter reaches in a fraction of the whole encoder's time.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mlp", "bert"})
    void rowsOfABatchAreIndependent(String name) {
        int batch = 2;
        Graph one = Zoo.build(name), many = Zoo.build(name, batch);
        String value = "output";
        if (name.equals("bert")) {
            int cut = 0;
            while (!one.nodes().get(cut).op().equals("LayerNormalization")) cut++;
            value = one.nodes().get(cut).output(0);
            for (Graph g : List.of(one, many)) {
                assertEquals(value, g.nodes().get(cut).output(0));
                g.setNodes(List.copyOf(g.nodes().subList(0, cut + 1)));
            }
        }
        Shape rowShape = one.inputs().get(0).shape();
        int rowSize = (int) rowShape.numel();
        SplittableRandom r = new SplittableRandom(11);
        float[] all = new float[batch * rowSize];
        for (int i = 0; i < all.length; i++) all[i] = (float) r.nextDouble(-1, 1);
        float[] out = Evaluator.run(many, Map.of("input", Tensor.ofFloats(many.inputs().get(0).shape(), all)), List.of(value)).get(value).floats();
        int outRow = out.length / batch;
        for (int b = 0; b < batch; b++) {
            float[] row = Arrays.copyOfRange(all, b * rowSize, (b + 1) * rowSize);
            float[] expected = Evaluator.run(one, Map.of("input", Tensor.ofFloats(rowShape, row)), List.of(value)).get(value).floats();
            assertEquals(outRow, expected.length);
            for (int i = 0; i < outRow; i++)
                assertEquals(expected[i], out[b * outRow + i], 1e-5 + 1e-5 * Math.abs(expected[i]), name + " row " + b + " element " + i);
        }
        assertTrue(out[0] != out[outRow], "rows of different inputs differ");
    }
}
