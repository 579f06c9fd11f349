package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class NormalizationTest {
    @Test
    void softmaxRowsSumToOneAndMatchHandValues() {
        Tensor y = run1(op("Softmax"), f(dims(2, 3), 1, 2, 3, 1000, 1000, 1000));
        // e^k / (e + e^2 + e^3) for k = 1, 2, 3; the second row (huge, equal logits) is uniform.
        assertValues(y, 1e-7, 0.09003057f, 0.24472847f, 0.66524096f, 1 / 3f, 1 / 3f, 1 / 3f);
        for (int r = 0; r < 2; r++) {
            double sum = 0;
            for (int j = 0; j < 3; j++) sum += y.floats()[r * 3 + j];
            assertEquals(1, sum, 1e-6);
        }
        assertValues(run1(op("LogSoftmax"), f(1, 2, 3)), 1e-6, -2.40760596f, -1.40760596f, -0.40760596f);
    }

    @Test
    void softmaxAxisBeforeOpset13CoercesTo2D() {
        Tensor x = f(dims(1, 2, 2), 0, 0, 0, (float) Math.log(3));
        // Opset 11, axis 1: one row of 4 -> [1, 1, 1, 3] / 6.
        assertValues(run1(op("Softmax").opset(11).attr("axis", 1), x), 1e-7, 1 / 6f, 1 / 6f, 1 / 6f, 0.5f);
        // Opset 13, axis 1: along axis 1 only, so column 0 is [0.5, 0.5] and column 1 is [0.25, 0.75].
        assertValues(run1(op("Softmax").opset(13).attr("axis", 1), x), 1e-7, 0.5f, 0.25f, 0.5f, 0.75f);
        // Default axes: 1 (opset 11) vs -1 (opset 13).
        assertValues(run1(op("Softmax").opset(11), x), 1e-7, 1 / 6f, 1 / 6f, 1 / 6f, 0.5f);
        assertValues(run1(op("Softmax").opset(13), x), 1e-7, 0.5f, 0.5f, 0.25f, 0.75f);
    }

    @Test
    void batchNormalization() {
        Tensor x = f(dims(1, 2, 1, 2), 1, 2, 3, 4);
        Tensor y = run1(op("BatchNormalization").attr("epsilon", 0f), x, f(1, 2), f(0, 10), f(1, 3), f(4, 1));
        // channel 0: (x - 1) / 2; channel 1: (x - 3) / 1 * 2 + 10
        assertValues(y, 0, 0.5f, 10, 12);
        Tensor eps = run1(op("BatchNormalization"), f(dims(1, 1, 1), 1), f(1), f(0), f(0), f(0));
        assertEquals((float) (1 / Math.sqrt(1e-5f)), eps.floats()[0]);
    }

    @Test
    void layerNormalizationWithStatistics() {
        Tensor x = f(dims(2, 4), 1, 2, 3, 4, 0, 0, 0, 4);
        List<Tensor> out = run(op("LayerNormalization").attr("epsilon", 0f).outputs(3), x, f(1, 1, 2, 2), f(0, 0, 0, 1));
        // Row 0: mean 2.5, variance 1.25; row 1: mean 1, variance 3. Scale [1, 1, 2, 2], bias [0, 0, 0, 1].
        double inv = 1 / Math.sqrt(1.25), inv1 = 1 / Math.sqrt(3);
        assertValues(out.get(0), 1e-6, (float) (-1.5 * inv), (float) (-0.5 * inv), (float) (0.5 * inv * 2), (float) (1.5 * inv * 2 + 1),
                (float) -inv1, (float) -inv1, (float) (-2 * inv1), (float) (6 * inv1 + 1));
        assertShape(out.get(1), 2, 1);
        assertValues(out.get(1), 2.5f, 1);
        assertValues(out.get(2), (float) inv, (float) inv1);
        Tensor axis0 = run1(op("LayerNormalization").attr("axis", 0).attr("epsilon", 0f), f(dims(2, 2), 0, 0, 2, 2), f(dims(2, 2), 1, 1, 1, 1));
        assertValues(axis0, -1, -1, 1, 1);
        Tensor eps = run1(op("LayerNormalization"), f(dims(1, 2), 0, 2), f(1, 1));
        assertValues(eps, (float) (-1 / Math.sqrt(1 + 1e-5f)), (float) (1 / Math.sqrt(1 + 1e-5f)));
    }

    @Test
    void reductions() {
        Tensor x = f(dims(2, 2), 1, 2, 3, 4);
        Tensor sum = run1(op("ReduceSum").opset(13), x, i64(1));
        assertShape(sum, 2, 1);
        assertValues(sum, 3, 7);
        assertValues(run1(op("ReduceSum").opset(11).attr("axes", new int[] {0}).attr("keepdims", 0), x), 4, 6);
        Tensor mean = run1(op("ReduceMean").opset(13), x);
        assertShape(mean, 1, 1);
        assertValues(mean, 2.5f);
        assertValues(run1(op("ReduceMean").opset(18).attr("keepdims", 0), x, i64(-1)), 1.5f, 3.5f);
        assertValues(run1(op("ReduceMax").opset(13).attr("axes", new int[] {0}).attr("keepdims", 0), x), 3, 4);
        assertValues(run1(op("ReduceMin").opset(13).attr("axes", new int[] {1}), x), 1, 3);
        assertValues(run1(op("ReduceProd").opset(13).attr("keepdims", 0), x), 24);
        assertValues(run1(op("ReduceMax").opset(13), f(1, Float.NaN, 3)), Float.NaN);
        // noop_with_empty_axes: no axes means identity instead of "reduce everything".
        assertValues(run1(op("ReduceSum").opset(13).attr("noop_with_empty_axes", 1), x), 1, 2, 3, 4);
        assertValues(run1(op("ReduceSum").opset(13).attr("noop_with_empty_axes", 1), x, i64(new long[0])), 1, 2, 3, 4);
        assertValues(run1(op("ReduceSum").opset(13), x, i64(new long[0])), 10);
        Tensor ints = run1(op("ReduceMean").opset(13).attr("keepdims", 0), of(DType.INT32, dims(3), 1, 2, 4));
        assertEquals(DType.INT32, ints.dtype());
        assertLongs(ints, 2);
        Tensor big = iota(3, 4, 5);
        Tensor mid = run1(op("ReduceSum").opset(13).attr("keepdims", 0), big, i64(1));
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 5; k++) {
                double acc = 0;
                for (int j = 0; j < 4; j++) acc += big.floats()[(i * 4 + j) * 5 + k];
                assertEquals((float) acc, mid.floats()[i * 5 + k]);
            }
    }
}
