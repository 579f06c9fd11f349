package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShapeOpsTest {
    private static final Tensor X = iota(2, 3, 4); // 1..24

    @Test
    void reshapeCopiesZerosAndInfersMinusOne() {
        assertShape(run1(op("Reshape"), X, i64(0, -1)), 2, 12);
        assertShape(run1(op("Reshape"), X, i64(-1, 4)), 6, 4);
        assertShape(run1(op("Reshape"), X, i64(0, 0, 2, 2)), 2, 3, 2, 2);
        assertShape(run1(op("Reshape").opset(4).attr("shape", new long[] {4, -1}), X), 4, 6);
        assertValues(run1(op("Reshape"), X, i64(24)), X.floats());
        // allowzero=1: 0 is a real zero dimension.
        Tensor empty = f(dims(0, 3), new float[0]);
        assertShape(run1(op("Reshape").attr("allowzero", 1), empty, i64(3, 0)), 3, 0);
        assertShape(run1(op("Reshape"), empty, i64(0, 3)), 0, 3);
    }

    @Test
    void flatten() {
        assertShape(run1(op("Flatten"), X), 2, 12);
        assertShape(run1(op("Flatten").attr("axis", 0), X), 1, 24);
        assertShape(run1(op("Flatten").attr("axis", 3), X), 24, 1);
        assertShape(run1(op("Flatten").attr("axis", -1), X), 6, 4);
    }

    @Test
    void transpose() {
        Tensor m = iota(2, 3);
        Tensor t = run1(op("Transpose"), m);
        assertShape(t, 3, 2);
        assertValues(t, 1, 4, 2, 5, 3, 6);
        Tensor p = run1(op("Transpose").attr("perm", new int[] {1, 2, 0}), X);
        assertShape(p, 3, 4, 2);
        // p[i][j][k] = X[k][i][j]
        assertEquals(X.floats()[(1 * 3 + 2) * 4 + 3], p.floats()[(2 * 4 + 3) * 2 + 1]);
        assertTrue(error(op("Transpose").attr("perm", new int[] {0, 0, 1}), X).contains("not a permutation"));
    }

    @Test
    void concatAndSplit() {
        Tensor a = iota(2, 2), b = f(dims(2, 1), 9, 9);
        Tensor c = run1(op("Concat").attr("axis", 1), a, b);
        assertShape(c, 2, 3);
        assertValues(c, 1, 2, 9, 3, 4, 9);
        assertValues(run1(op("Concat").attr("axis", -2), a, a), 1, 2, 3, 4, 1, 2, 3, 4);
        List<Tensor> parts = run(op("Split").attr("axis", 1).outputs(2).opset(11).attr("split", new int[] {2, 1}), c);
        assertValues(parts.get(0), 1, 2, 3, 4);
        assertValues(parts.get(1), 9, 9);
        List<Tensor> even = run(op("Split").outputs(2), c);
        assertValues(even.get(0), 1, 2, 9);
        assertValues(even.get(1), 3, 4, 9);
        List<Tensor> input = run(op("Split").opset(13).attr("axis", 1).outputs(2), c, i64(1, 2));
        assertValues(input.get(1), 2, 9, 4, 9);
        List<Tensor> uneven = run(op("Split").opset(18).attr("num_outputs", 2).outputs(2), f(1, 2, 3, 4, 5));
        assertValues(uneven.get(0), 1, 2, 3);
        assertValues(uneven.get(1), 4, 5);
        assertTrue(error(op("Split").outputs(2), f(1, 2, 3)).contains("do not split evenly"));
    }

    @Test
    void sliceWithNegativeIndicesStepsAndClamping() {
        Tensor v = f(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertValues(run1(op("Slice"), v, i64(2), i64(-3)), 2, 3, 4, 5, 6);
        assertValues(run1(op("Slice"), v, i64(-1), i64(Long.MIN_VALUE), i64(0), i64(-3)), 9, 6, 3, 0);
        assertValues(run1(op("Slice"), v, i64(1), i64(Long.MAX_VALUE), i64(0), i64(4)), 1, 5, 9);
        assertValues(run1(op("Slice"), v, i64(100), i64(200)));
        assertValues(run1(op("Slice"), v, i64(8), i64(1000), null, i64(1)), 8, 9);
        Tensor s = run1(op("Slice"), X, i64(1, -1), i64(3, 0), i64(1, 2), i64(1, -2));
        assertShape(s, 2, 2, 2);
        // X[:, 1:3, 3:0:-2] -> rows 1..2, columns 3 and 1
        assertValues(s, 8, 6, 12, 10, 20, 18, 24, 22);
        assertValues(run1(op("Slice").opset(9).attr("starts", new int[] {1}).attr("ends", new int[] {3}), v), 1, 2);
    }

    @Test
    void gatherWithNegativeIndices() {
        Tensor m = iota(3, 2);
        Tensor rows = run1(op("Gather"), m, i64(dims(2, 2), 0, -1, 2, 1));
        assertShape(rows, 2, 2, 2);
        assertValues(rows, 1, 2, 5, 6, 5, 6, 3, 4);
        Tensor cols = run1(op("Gather").attr("axis", 1), m, scalar(-1L));
        assertShape(cols, 3);
        assertValues(cols, 2, 4, 6);
        assertTrue(error(op("Gather"), m, i64(3)).contains("index 3 is out of range"));
        assertLongs(run1(op("Gather"), i64(4, 5, 6), of(DType.INT32, dims(1), 1)), 5);
    }

    @Test
    void squeezeAndUnsqueezeAcrossOpsets() {
        Tensor t = iota(1, 3, 1);
        assertShape(run1(op("Squeeze"), t), 3);
        assertShape(run1(op("Squeeze").opset(11).attr("axes", new int[] {-1}), t), 1, 3);
        assertShape(run1(op("Squeeze").opset(13), t, i64(0)), 3, 1);
        assertTrue(error(op("Squeeze").opset(13), t, i64(1)).contains("its size is not 1"));
        assertShape(run1(op("Unsqueeze").opset(11).attr("axes", new int[] {0, 3}), iota(2, 3)), 1, 2, 3, 1);
        assertShape(run1(op("Unsqueeze").opset(13), iota(2, 3), i64(-1, 1)), 2, 1, 3, 1);
        assertShape(run1(op("Unsqueeze").opset(13), scalar(1f), i64(0)), 1);
    }

    @Test
    void castConvertsWithOnnxSemantics() {
        Tensor y = run1(op("Cast").attr("to", DType.INT32.onnxCode), f(-1.7f, 2.9f, Float.NaN));
        assertEquals(DType.INT32, y.dtype());
        assertLongs(y, -1, 2, 0);
        assertLongs(run1(op("Cast").attr("to", DType.BOOL.onnxCode), f(0, 0.5f)), 0, 1);
        assertValues(run1(op("Cast").attr("to", DType.FLOAT32.onnxCode), i64(3)), 3);
        assertEquals(DType.FLOAT64, run1(op("Cast").opset(5).attr("to", "DOUBLE"), f(1)).dtype());
    }

    @Test
    void expandTileAndRange() {
        Tensor e = run1(op("Expand"), f(dims(3, 1), 1, 2, 3), i64(2, 1, 2));
        assertShape(e, 2, 3, 2);
        assertValues(e, 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3);
        Tensor t = run1(op("Tile"), iota(2, 2), i64(1, 2));
        assertValues(t, 1, 2, 1, 2, 3, 4, 3, 4);
        assertLongs(run1(op("Range"), scalar(1L), scalar(10L), scalar(3L)), 1, 4, 7);
        assertLongs(run1(op("Range"), scalar(10L), scalar(1L), scalar(-4L)), 10, 6, 2);
        assertLongs(run1(op("Range"), scalar(1L), scalar(1L), scalar(1L)));
        assertValues(run1(op("Range"), scalar(0f), scalar(1f), scalar(0.25f)), 0, 0.25f, 0.5f, 0.75f);
    }

    @Test
    void padModes() {
        Tensor v = f(dims(1, 3), 1, 2, 3);
        Tensor pads = i64(0, 2, 0, 1);
        assertValues(run1(op("Pad"), v, pads), 0, 0, 1, 2, 3, 0);
        assertValues(run1(op("Pad"), v, pads, scalar(7f)), 7, 7, 1, 2, 3, 7);
        assertValues(run1(op("Pad").attr("mode", "reflect"), v, pads), 3, 2, 1, 2, 3, 2);
        assertValues(run1(op("Pad").attr("mode", "edge"), v, pads), 1, 1, 1, 2, 3, 3);
        assertValues(run1(op("Pad").attr("mode", "wrap"), v, pads), 2, 3, 1, 2, 3, 1);
        assertValues(run1(op("Pad"), v, i64(0, -1, 0, 0)), 2, 3);
        assertValues(run1(op("Pad").opset(2).attr("pads", new int[] {0, 1, 0, 0}).attr("value", 5f), v), 5, 1, 2, 3);
        assertValues(run1(op("Pad").opset(18), v, i64(1, 1), null, i64(1)), 0, 1, 2, 3, 0);
        Tensor twoD = run1(op("Pad"), iota(2, 2), i64(1, 0, 0, 1));
        assertShape(twoD, 3, 3);
        assertValues(twoD, 0, 0, 0, 1, 2, 0, 3, 4, 0);
    }

    @Test
    void constantsAndShapeQueries() {
        Tensor t = iota(2, 2);
        assertSame(t, run1(op("Constant").attr("value", t)));
        assertValues(run1(op("Constant").attr("value_float", 2.5f)), 2.5f);
        assertShape(run1(op("Constant").attr("value_float", 2.5f)));
        assertValues(run1(op("Constant").attr("value_floats", new float[] {1, 2})), 1, 2);
        assertLongs(run1(op("Constant").attr("value_int", 7)), 7);
        assertLongs(run1(op("Constant").attr("value_ints", new int[] {7, 8})), 7, 8);
        Tensor zeros = run1(op("ConstantOfShape"), i64(2, 3));
        assertEquals(DType.FLOAT32, zeros.dtype());
        assertValues(zeros, 0, 0, 0, 0, 0, 0);
        assertLongs(run1(op("ConstantOfShape").attr("value", i64(5)), i64(2)), 5, 5);
        assertLongs(run1(op("Shape"), X), 2, 3, 4);
        assertLongs(run1(op("Shape").attr("start", 1), X), 3, 4);
        assertLongs(run1(op("Shape").attr("start", -2).attr("end", -1), X), 3);
        assertLongs(run1(op("Shape").attr("start", 5), X));
        Tensor size = run1(op("Size"), X);
        assertShape(size);
        assertLongs(size, 24);
    }

    @Test
    void identityAndDropout() {
        assertSame(X, run1(op("Identity"), X));
        List<Tensor> d = run(op("Dropout").outputs(2), X, scalar(0.5f));
        assertSame(X, d.get(0));
        assertEquals(DType.BOOL, d.get(1).dtype());
        assertTrue(java.util.Arrays.stream(d.get(1).longs()).allMatch(b -> b == 1));
        assertEquals(DType.FLOAT32, run(op("Dropout").opset(7).outputs(2), X).get(1).dtype());
        assertTrue(error(op("Dropout"), X, scalar(0.5f), bools(dims(), 1)).contains("inference"));
    }
}
