package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import org.junit.jupiter.api.Test;

/** The less common ops added for the ONNX conformance suite, against the reference evaluator. */
class MoreOpsTest {
    @Test
    void bitShift() {
        for (DType t : new DType[] {DType.UINT8, DType.UINT16, DType.UINT32, DType.UINT64}) {
            int bits = t.byteSize * 8;
            for (String dir : new String[] {"LEFT", "RIGHT"}) {
                op("BitShift").attr("direction", dir).in(randInt(t, 0, 255, 3, 7)).in(randInt(t, 0, bits + 1, 3, 7)).check();
                op("BitShift").attr("direction", dir).in(randInt(t, 0, 1000, 13)).in(randInt(t, 0, 3, 1)).check();
            }
        }
    }

    @Test
    void isNanIsInf() {
        float[] v = {1, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 3, -2, Float.NaN, Float.POSITIVE_INFINITY};
        Tensor x = Tensor.ofFloats(new Shape(9), v);
        op("IsNaN").in(x).check();
        op("IsInf").in(x).check();
        op("IsInf").attr("detect_negative", 0L).in(x).check();
        op("IsInf").attr("detect_positive", 0L).in(x).check();
        op("IsNaN").in(Tensor.ofDoubles(new Shape(3), 1, Double.NaN, Double.POSITIVE_INFINITY)).check();
    }

    @Test
    void gatherND() {
        op("GatherND").in(rand(3, 4, 5)).in(randInt(DType.INT64, -3, 2, 2, 6, 2)).check();
        op("GatherND").in(rand(3, 4, 5)).in(randInt(DType.INT64, 0, 2, 7, 3)).check();
        op("GatherND").attr("batch_dims", 1L).in(rand(3, 4, 5)).in(randInt(DType.INT32, -4, 3, 3, 2, 1)).check();
        op("GatherND").in(randInt(DType.INT32, -9, 9, 4, 6)).in(randInt(DType.INT64, 0, 3, 5, 1)).check();
    }

    @Test
    void oneHot() {
        op("OneHot").in(randInt(DType.INT64, -6, 6, 3, 4)).constant(Tensor.ofLongs(Shape.SCALAR, 5)).in(rand(2)).check();
        op("OneHot").attr("axis", 1L).in(randIn(0, 9, 2, 7)).constant(Tensor.ofFloats(Shape.SCALAR, 10f)).constant(longs(1, 3)).check();
        op("OneHot").attr("axis", 0L).in(randInt(DType.INT32, 0, 3, 6)).constant(Tensor.ofLongs(new Shape(1), 4)).in(rand(2)).check();
    }

    @Test
    void scatterElements() {
        // Indices without duplicates along the axis for "none" (the last write wins either way).
        Tensor perm = Tensor.ofLongs(new Shape(2, 4), 3, 0, -2, 1, 0, 2, 1, 3);
        op("ScatterElements").attr("axis", 1L).in(rand(2, 5)).constant(perm).in(rand(2, 4)).check();
        op("ScatterElements").attr("axis", 0L).in(rand(5, 3)).in(randInt(DType.INT64, -5, 4, 4, 2)).in(rand(4, 2)).check();
        op("ScatterElements").attr("axis", 1L).in(rand(3, 6)).in(randInt(DType.INT32, 0, 5, 2, 7)).in(rand(2, 7)).check();
        for (String red : new String[] {"add", "max", "min"}) {
            op("ScatterElements").attr("reduction", red).in(rand(4, 3)).in(randInt(DType.INT64, 0, 3, 6, 2)).in(rand(6, 2)).check();
            op("ScatterElements").attr("reduction", red).attr("axis", 1L)
                    .in(randInt(DType.INT32, -9, 9, 3, 4)).in(randInt(DType.INT64, 0, 3, 3, 5)).in(randInt(DType.INT32, -9, 9, 3, 5)).check();
        }
        op("Scatter").opset(10).attr("axis", 1L).in(rand(2, 5)).constant(perm).in(rand(2, 4)).check();
    }

    @Test
    void topK() {
        op("TopK").outputs("v", "i").in(rand(3, 11)).constant(longs(4)).check();
        op("TopK").outputs("v", "i").attr("axis", 0L).attr("largest", 0L).in(rand(6, 2, 3)).constant(longs(3)).check();
        // Ties: equal values keep their order of position.
        op("TopK").outputs("v", "i").attr("axis", 1L).in(randInt(DType.INT32, 0, 3, 2, 9, 2)).constant(longs(5)).check();
        op("TopK").outputs("v", "").in(rand(5)).constant(longs(5)).check();
    }

    /**
     * The heap kernel on what ranking never met: long axes with many ties (values from a few
     * levels), deep heaps, k at its extremes, strided rows, batches of rows, every element type.
     */
    @Test
    void topKHeap() {
        op("TopK").outputs("v", "i").in(levels(DType.FLOAT32, 9, 5000)).constant(longs(7)).check();
        op("TopK").outputs("v", "i").attr("largest", 0L).in(levels(DType.FLOAT32, 9, 5000)).constant(longs(7)).check();
        op("TopK").outputs("v", "i").in(levels(DType.FLOAT32, 40, 2, 1000)).constant(longs(100)).check();
        op("TopK").outputs("v", "i").attr("largest", 0L).in(levels(DType.INT64, 5, 3, 60)).constant(longs(60)).check();
        op("TopK").outputs("v", "i").in(levels(DType.FLOAT32, 5, 4, 37)).constant(longs(1)).check();
        op("TopK").outputs("v", "i").attr("largest", 0L).in(levels(DType.FLOAT32, 5, 4, 37)).constant(longs(1)).check();
        op("TopK").outputs("v", "i").in(rand(3, 8)).constant(longs(0)).check();
        // A middle axis (rows strided by the dimensions after it), also given from the end.
        op("TopK").outputs("v", "i").attr("axis", 1L).in(levels(DType.FLOAT32, 6, 3, 50, 4)).constant(longs(5)).check();
        op("TopK").outputs("v", "i").attr("axis", -2L).attr("largest", 0L).in(levels(DType.INT32, 6, 2, 41, 3)).constant(longs(41)).check();
        op("TopK").outputs("v", "i").in(levels(DType.FLOAT32, 30, 16, 300)).constant(longs(10)).check();
        op("TopK").outputs("v", "i").attr("axis", 0L).in(levels(DType.FLOAT64, 7, 200, 3)).constant(longs(9)).check();
        op("TopK").outputs("v", "i").in(levels(DType.UINT8, 7, 3, 90)).constant(longs(6)).check();
        op("TopK").outputs("v", "i").attr("largest", 0L).in(levels(DType.FLOAT16, 11, 4, 200)).constant(longs(8)).check();
        op("TopK").outputs("", "i").in(levels(DType.INT8, 4, 2, 70)).constant(longs(3)).check();
        op("TopK").outputs("v", "").attr("sorted", 0L).in(levels(DType.FLOAT32, 4, 2, 70)).constant(longs(13)).check();
    }

    /** Values of type t from {@code count} integer levels around 0 (unsigned: from 0), so many tie. */
    private static Tensor levels(DType t, int count, int... dims) {
        int low = t.name().startsWith("UINT") ? 0 : -count / 2;
        return Tensor.generate(t, new Shape(dims), i -> low + RNG.nextInt(count));
    }

    @Test
    void einsum() {
        op("Einsum").attr("equation", "bij,bjk->bik").in(rand(3, 4, 5)).in(rand(3, 5, 6)).check();
        op("Einsum").attr("equation", "ij->ji").in(rand(3, 7)).check();
        op("Einsum").attr("equation", "ij->i").in(rand(5, 9)).check();
        op("Einsum").attr("equation", "i,i").in(rand(13)).in(rand(13)).check();
        op("Einsum").attr("equation", "...ii->...i").in(rand(2, 3, 4, 4)).check();
        op("Einsum").attr("equation", "ij,jk").in(randInt(DType.INT64, -5, 5, 3, 4)).in(randInt(DType.INT64, -5, 5, 4, 2)).check();
    }

    @Test
    void scatterND() {
        // Distinct rows for "none" (the last write wins either way).
        op("ScatterND").in(rand(4, 3, 2)).constant(Tensor.ofLongs(new Shape(2, 1), 3, -4)).in(rand(2, 3, 2)).check();
        op("ScatterND").in(rand(4, 5)).constant(Tensor.ofLongs(new Shape(2, 2, 2), 0, 0, 3, 4, 1, -1, 2, 2)).in(rand(2, 2)).check();
        op("ScatterND").in(rand(3, 4)).constant(Tensor.ofLongs(new Shape(2), 2, 1)).in(rand()).check();
        for (String red : new String[] {"add", "max", "min"})
            op("ScatterND").attr("reduction", red).in(rand(4, 3)).in(randInt(DType.INT64, 0, 3, 5, 1)).in(rand(5, 3)).check();
    }

    @Test
    void quantizeDequantize() {
        op("QuantizeLinear").in(randIn(-300, 300, 3, 17)).constant(scalar(2f)).constant(Tensor.of(DType.UINT8, Shape.SCALAR, new long[] {128})).check();
        op("QuantizeLinear").in(randIn(-300, 300, 3, 17)).constant(scalar(0.5f)).check();
        op("QuantizeLinear").in(randIn(-300, 300, 2, 3, 5)).constant(Tensor.ofFloats(new Shape(3), 1, 2, 4))
                .constant(Tensor.of(DType.INT8, new Shape(3), new long[] {0, -5, 7})).check();
        // Exact halves round to even.
        op("QuantizeLinear").in(Tensor.ofFloats(new Shape(6), 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 3f)).constant(scalar(1f)).check();
        op("DequantizeLinear").in(randInt(DType.UINT8, 0, 255, 4, 9)).constant(scalar(0.25f)).constant(Tensor.of(DType.UINT8, Shape.SCALAR, new long[] {100})).check();
        op("DequantizeLinear").attr("axis", 0L).in(randInt(DType.INT8, -128, 127, 3, 5)).constant(Tensor.ofFloats(new Shape(3), 1, 2, 0.5f)).check();
        op("DequantizeLinear").in(randInt(DType.INT32, -1000, 1000, 7)).constant(scalar(0.1f)).check();
    }

    @Test
    void compress() {
        op("Compress").attr("axis", 1L).in(rand(3, 5, 2)).constant(Tensor.of(DType.BOOL, new Shape(4), new long[] {1, 0, 1, 1})).check();
        op("Compress").in(rand(3, 4)).constant(Tensor.of(DType.BOOL, new Shape(12), new long[] {0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1})).check();
        op("Compress").attr("axis", -1L).in(randInt(DType.INT32, -9, 9, 2, 3)).constant(Tensor.of(DType.BOOL, new Shape(3), new long[] {0, 0, 1})).check();
    }

    @Test
    void dynamicQuantizeLinear() {
        op("DynamicQuantizeLinear").outputs("y", "s", "z").in(rand(3, 17)).check();
        op("DynamicQuantizeLinear").outputs("y", "s", "z").in(randIn(0.5, 3, 2, 5)).check();
        op("DynamicQuantizeLinear").outputs("y", "s", "z").in(randIn(-7, -1, 9)).check();
    }

    @Test
    void lrn() {
        op("LRN").attr("size", 3L).in(rand(2, 5, 3, 4)).check();
        op("LRN").attr("size", 4L).attr("alpha", 0.01f).attr("beta", 0.5f).attr("bias", 2f).in(rand(1, 7, 5)).check();
    }

    @Test
    void reverseSequence() {
        op("ReverseSequence").in(rand(5, 3, 2)).in(randInt(DType.INT64, 0, 5, 3)).check();
        op("ReverseSequence").attr("time_axis", 1L).attr("batch_axis", 0L).in(rand(4, 6)).in(randInt(DType.INT64, 1, 6, 4)).check();
    }
}
