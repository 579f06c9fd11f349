package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import org.junit.jupiter.api.Test;

/** The less common ops added for the ONNX conformance suite, against hand-computed values. */
class MoreOpsTest {
    @Test
    void bitShiftWrapsToTheTypeAndBroadcasts() {
        assertLongs(run1(op("BitShift").attr("direction", "LEFT"), of(DType.UINT8, dims(3), 16, 4, 1), of(DType.UINT8, dims(3), 1, 2, 3)),
                32, 16, 8);
        // 0xF0 << 2 loses its top bits in uint8.
        assertLongs(run1(op("BitShift").attr("direction", "LEFT"), of(DType.UINT8, dims(1), 0xF0), of(DType.UINT8, dims(1), 2)), 0xC0);
        assertLongs(run1(op("BitShift").attr("direction", "RIGHT"), of(DType.UINT32, dims(3), 16, 4, 1), of(DType.UINT32, dims(1), 2)),
                4, 1, 0);
        // uint64 is unsigned: the top bit shifts right as a zero-filled bit.
        assertLongs(run1(op("BitShift").attr("direction", "RIGHT"), of(DType.UINT64, dims(1), Long.MIN_VALUE), of(DType.UINT64, dims(1), 63)), 1);
        assertTrue(error(op("BitShift").attr("direction", "UP"), of(DType.UINT8, dims(1), 1), of(DType.UINT8, dims(1), 1))
                .contains("LEFT or RIGHT"));
        assertTrue(error(op("BitShift").attr("direction", "LEFT"), i64(1), i64(1)).contains("unsigned"));
    }

    @Test
    void isNanAndIsInf() {
        var x = f(1, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f);
        assertLongs(run1(op("IsNaN"), x), 0, 1, 0, 0, 0);
        assertLongs(run1(op("IsInf"), x), 0, 0, 1, 1, 0);
        assertLongs(run1(op("IsInf").attr("detect_negative", 0L), x), 0, 0, 1, 0, 0);
        assertLongs(run1(op("IsInf").attr("detect_positive", 0L), x), 0, 0, 0, 1, 0);
    }

    @Test
    void gatherNDPicksRowsAndElements() {
        var data = iota(2, 2);   // [[1, 2], [3, 4]]
        assertValues(run1(op("GatherND"), data, i64(dims(2, 2), 0, 0, 1, 1)), 1, 4);
        assertValues(run1(op("GatherND"), data, i64(dims(2, 1), 1, -2)), 3, 4, 1, 2);
        // batch_dims 1: each batch row picks from its own data slice.
        var y = run1(op("GatherND").attr("batch_dims", 1L), iota(2, 2, 2), i64(dims(2, 1), 1, 0));
        assertShape(y, 2, 2);
        assertValues(y, 3, 4, 5, 6);
        assertTrue(error(op("GatherND"), data, i64(dims(1, 2), 2, 0)).contains("out of range"));
    }

    @Test
    void oneHotInsertsTheDepthAxis() {
        var values = f(0, 5);
        var y = run1(op("OneHot"), i64(1, -1, 7), scalar(3L), values);
        assertShape(y, 3, 3);
        assertValues(y, 0, 5, 0, 0, 0, 5, 0, 0, 0);
        var z = run1(op("OneHot").attr("axis", 0L), i64(0, 2), scalar(3f), values);
        assertShape(z, 3, 2);
        assertValues(z, 5, 0, 0, 0, 0, 5);
    }

    @Test
    void scatterElementsReplacesOrCombines() {
        var data = f(dims(2, 3), 1, 2, 3, 4, 5, 6);
        var idx = i64(dims(2, 2), 2, 0, -1, 1);
        var upd = f(dims(2, 2), 10, 20, 30, 40);
        assertValues(run1(op("ScatterElements").attr("axis", 1L), data, idx, upd), 20, 2, 10, 4, 40, 30);
        assertValues(run1(op("ScatterElements").attr("axis", 1L).attr("reduction", "add"), data, idx, upd), 21, 2, 13, 4, 45, 36);
        assertValues(run1(op("ScatterElements").attr("axis", 1L).attr("reduction", "min"), data, idx, upd), 1, 2, 3, 4, 5, 6);
        // Axis 0, duplicates: the last update wins without a reduction; mul multiplies them all.
        var i0 = i64(dims(2, 1), 1, 1);
        var u0 = f(dims(2, 1), 7, 8);
        assertValues(run1(op("ScatterElements"), data, i0, u0), 1, 2, 3, 8, 5, 6);
        assertValues(run1(op("ScatterElements").attr("reduction", "mul"), data, i0, u0), 1, 2, 3, 224, 5, 6);
        assertTrue(error(op("ScatterElements"), data, i64(dims(1, 1), 2), f(dims(1, 1), 1)).contains("out of range"));
    }

    @Test
    void topKSortsBestFirstWithTiesByPosition() {
        var x = f(dims(2, 4), 3, 1, 3, 2, 0, 5, -1, 5);
        var r = run(op("TopK").outputs(2), x, i64(2));
        assertValues(r.get(0), 3, 3, 5, 5);
        assertLongs(r.get(1), 0, 2, 1, 3);
        var s = run(op("TopK").outputs(2).attr("largest", 0L).attr("axis", 0L), x, i64(1));
        assertValues(s.get(0), 0, 1, -1, 2);
        assertLongs(s.get(1), 1, 0, 1, 0);
    }

    @Test
    void einsumCommonEquations() {
        var m = iota(2, 3); // [[1, 2, 3], [4, 5, 6]]
        var t = run1(op("Einsum").attr("equation", "ij->ji"), m);
        assertShape(t, 3, 2);
        assertValues(t, 1, 4, 2, 5, 3, 6);
        assertValues(run1(op("Einsum").attr("equation", "ij->i"), m), 6, 15);
        var dot = run1(op("Einsum").attr("equation", "i,i"), f(1, 2, 3), f(4, 5, 6));
        assertShape(dot);
        assertValues(dot, 32);
        assertValues(run1(op("Einsum").attr("equation", "...ii->...i"), iota(2, 2, 2)), 1, 4, 5, 8);
        var sq = iota(1, 2, 2);
        assertValues(run1(op("Einsum").attr("equation", "bij,bjk->bik"), sq, sq), 7, 10, 15, 22);
        // Implicit output: the labels used once, alphabetically (here "ik": a matmul).
        assertValues(run1(op("Einsum").attr("equation", "ij,jk"), iota(2, 2), iota(2, 2)), 7, 10, 15, 22);
        assertTrue(error(op("Einsum").attr("equation", "ij,jk->ik"), iota(2, 3), iota(2, 2)).contains("extents differ"));
    }

    @Test
    void scatterNDWritesRowsAndElements() {
        var data = f(dims(2, 2), 1, 2, 3, 4);
        // Whole rows: indices [[1]] replaces row 1.
        assertValues(run1(op("ScatterND"), data, i64(dims(1, 1), 1), f(dims(1, 2), 9, 8)), 1, 2, 9, 8);
        // Elements, with a duplicate: the last wins; add sums both.
        var idx = i64(dims(3, 2), 0, 1, -1, 0, 0, 1);
        var upd = f(10, 20, 30);
        assertValues(run1(op("ScatterND"), data, idx, upd), 1, 30, 20, 4);
        assertValues(run1(op("ScatterND").attr("reduction", "add"), data, idx, upd), 1, 42, 23, 4);
        assertValues(run1(op("ScatterND").attr("reduction", "mul"), data, idx, upd), 1, 600, 60, 4);
        assertTrue(error(op("ScatterND"), data, i64(dims(1, 1), 1), f(dims(1, 3), 9, 8, 7)).contains("should have shape"));
    }

    @Test
    void quantizeRoundsHalfToEvenAndSaturates() {
        var x = f(0, 2, 3, 5, -1000, 1000);
        assertLongs(run1(op("QuantizeLinear"), x, scalar(2f), of(DType.UINT8, dims(), 128)), 128, 129, 130, 130, 0, 255);
        assertLongs(run1(op("QuantizeLinear"), x, scalar(2f)), 0, 1, 2, 2, 0, 255);
        assertLongs(run1(op("QuantizeLinear"), x, scalar(2f), of(DType.INT8, dims(), -1)), -1, 0, 1, 1, -128, 127);
        // Per channel along axis 1.
        var y = run1(op("QuantizeLinear"), f(dims(1, 2, 2), 4, 4, 4, 4), f(1, 2), of(DType.UINT8, dims(2), 0, 10));
        assertLongs(y, 4, 4, 12, 12);
        assertValues(run1(op("DequantizeLinear"), of(DType.UINT8, dims(4), 0, 3, 128, 255), scalar(2f), of(DType.UINT8, dims(), 128)),
                -256, -250, 0, 254);
        assertValues(run1(op("DequantizeLinear").attr("axis", 0L), of(DType.INT8, dims(2, 1), -3, 3), f(1, 0.5f)), -3, 1.5f);
    }

    @Test
    void compressKeepsTheTrueSlices() {
        var x = iota(3, 2); // [[1, 2], [3, 4], [5, 6]]
        var y = run1(op("Compress").attr("axis", 0L), x, bools(dims(3), 0, 1, 1));
        assertShape(y, 2, 2);
        assertValues(y, 3, 4, 5, 6);
        assertValues(run1(op("Compress").attr("axis", -1L), x, bools(dims(2), 0, 1)), 2, 4, 6);
        assertValues(run1(op("Compress"), x, bools(dims(5), 0, 1, 0, 0, 1)), 2, 5);
        assertTrue(error(op("Compress").attr("axis", 1L), x, bools(dims(3), 1, 1, 1)).contains("condition has 3 elements"));
    }

    @Test
    void dynamicQuantizeLinearChoosesScaleFromTheRange() {
        // Range [-1, 4] (0 included): scale 5/255, zero point round(1 / (5/255)) = 51.
        var r = run(op("DynamicQuantizeLinear").outputs(3), f(-1, 0, 4, 2));
        assertValues(r.get(1), 5f / 255f);
        assertLongs(r.get(2), 51);
        assertLongs(r.get(0), 0, 51, 255, 153);
        // All positive: the range starts at 0, zero point 0.
        var p = run(op("DynamicQuantizeLinear").outputs(3), f(1, 2.55f));
        assertLongs(p.get(2), 0);
        assertLongs(p.get(0), 100, 255);
    }

    @Test
    void lrnSumsSquaresOverTheChannelWindow() {
        var y = run1(op("LRN").attr("size", 3L).attr("alpha", 3f).attr("beta", 1f).attr("bias", 1f), f(dims(1, 3, 1, 1), 1, 2, 3));
        assertValues(y, 1e-6, 1f / 6, 2f / 15, 3f / 14);
        // An even size reaches one channel further up than down: channel 0 sees 0..1, channel 1 sees 1..2.
        var z = run1(op("LRN").attr("size", 2L).attr("alpha", 2f).attr("beta", 1f).attr("bias", 0f), f(dims(1, 3, 1, 1), 1, 2, 3));
        assertValues(z, 1e-6, 1f / 5, 2f / 13, 3f / 9);
    }

    @Test
    void reverseSequenceReversesEachPrefix() {
        // time_axis 0, batch_axis 1: columns are sequences [1,3,5] and [2,4,6], lengths 3 and 1.
        var x = iota(3, 2);
        assertValues(run1(op("ReverseSequence"), x, i64(3, 1)), 5, 2, 3, 4, 1, 6);
        // batch_axis 0: rows are sequences [1,2] and [3,4] (then [5,6]).
        assertValues(run1(op("ReverseSequence").attr("time_axis", 1L).attr("batch_axis", 0L), x, i64(2, 0, 1)), 2, 1, 3, 4, 5, 6);
    }

    @Test
    void cosineWindows() {
        assertValues(run1(op("HannWindow"), scalar(4L)), 1e-7, 0, 0.5f, 1, 0.5f);
        assertValues(run1(op("HannWindow").attr("periodic", 0L), scalar(3L)), 1e-7, 0, 1, 0);
        assertValues(run1(op("HammingWindow"), scalar(2L)), 1e-7, 4f / 46, 1);
        assertValues(run1(op("BlackmanWindow"), scalar(2L)), 1e-7, 0, 1);
        assertShape(run1(op("HannWindow").attr("output_datatype", 11L), scalar(5L)), 5);
    }
}
