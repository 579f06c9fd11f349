package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Reductions, Softmax/LogSoftmax and LayerNormalization against the reference evaluator. */
class ReduceNormOpsTest {
    @ParameterizedTest
    @ValueSource(strings = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"})
    void reduce(String op) {
        op(op).opset(18).in(randIn(0.5, 1.5, 3, 5, 7)).constant(longs(1)).check();              // middle axis: vectorized inner
        op(op).opset(18).in(randIn(0.5, 1.5, 3, 5, 7)).constant(longs(-1)).attr("keepdims", 0L).check();
        op(op).opset(18).in(randIn(0.5, 1.5, 3, 5, 7)).constant(longs(0, 2)).check();
        op(op).opset(18).in(randIn(0.5, 1.5, 3, 5, 7)).check();                                  // all axes
        op(op).opset(11).ints("axes", 0).attr("keepdims", 0L).in(randIn(0.5, 1.5, 4, 33)).check();
        op(op).opset(18).in(randIn(0.5, 1.5, 2, 1, 9)).constant(longs(1)).check();              // unit axis
        op(op).opset(18).in(randIn(0.5, 1.5, 2, 40, 3, 3)).constant(longs(2, 3)).target(AVX512).check();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"})
    void reduceRowsInVectorLanes(String op) {
        op(op).opset(18).in(randIn(0.9, 1.1, 5, 48)).constant(longs(-1)).check();              // 3 x 16 lanes
        op(op).opset(18).in(randIn(0.9, 1.1, 4, 8, 4)).check();                                 // all 128 as one row
        op(op).opset(18).in(randIn(0.9, 1.1, 3, 2, 8)).constant(longs(1, 2)).attr("keepdims", 0L).check(); // 16 = 2 x 8 lanes
        op(op).opset(18).in(randF64(2, 32)).constant(longs(1)).check();
    }

    @Test
    void reduceOtherTypes() {
        op("ReduceSum").in(randInt(DType.INT64, -9, 9, 3, 13)).constant(longs(1)).check();
        op("ReduceMax").opset(18).in(randInt(DType.INT32, -9, 9, 3, 13)).constant(longs(0)).check();
        op("ReduceSum").in(randF64(5, 6)).constant(longs(0)).attr("keepdims", 0L).check();
        op("ReduceSum").in(rand(4, 5)).constant(longs()).attr("noop_with_empty_axes", 1L).check();
    }

    @Test
    void reduceBigEnoughToRunInParallel() {
        op("ReduceMean").opset(18).in(rand(4, 64, 300)).constant(longs(1)).check();
        op("ReduceMax").opset(18).in(rand(4, 3, 77)).constant(longs(2)).check();
        op("ReduceProd").opset(18).in(rand(2, 65)).constant(longs(1)).check();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Softmax", "LogSoftmax"})
    void softmax(String op) {
        op(op).in(rand(3, 13)).check();
        op(op).attr("axis", 1L).in(rand(2, 7, 5)).check();                      // not the last axis
        op(op).attr("axis", 0L).in(rand(9, 3)).check();
        op(op).in(rand(1, 1, 40)).target(AVX512).check();
        op(op).opset(11).in(rand(2, 3, 5)).check();                             // legacy: flattened from axis 1
        op(op).opset(11).attr("axis", 2L).in(rand(2, 3, 5)).check();
        op(op).in(randF64(4, 9)).check();
        op(op).in(rand(7)).check();
        op(op).in(rand(3, 64)).check();
        op(op).in(rand(2, 101)).check();                                        // 96 in lanes, then a tail of 5
        op(op).in(rand(3, 83)).target(AVX512).check();
        op(op).in(randInt(dev.kiln.irhigh.DType.INT32, -3, 3, 2, 16).cast(dev.kiln.irhigh.DType.FLOAT64)).check();
    }

    @Test
    void layerNormalization() {
        op("LayerNormalization").in(rand(3, 13)).constant(rand(13)).constant(rand(13)).check();
        op("LayerNormalization").attr("axis", 1L).attr("epsilon", 1e-3f).in(rand(2, 3, 5)).constant(rand(3, 5)).check();
        op("LayerNormalization").in(rand(2, 4, 7)).in(rand(7)).in(rand(7)).outputs("y", "mean", "rstd").check();
        op("LayerNormalization").in(rand(2, 4, 7)).in(rand(7)).none().outputs("y", "", "rstd").check();
        op("LayerNormalization").attr("axis", 0L).in(rand(3, 5)).constant(rand(3, 5)).constant(rand(3, 5)).check();
        op("LayerNormalization").in(randF64(5, 9)).in(randF64(9)).in(randF64(9)).check();
        op("LayerNormalization").in(rand(1, 6, 40)).constant(rand(40)).constant(rand(40)).target(AVX512).check();
        op("LayerNormalization").in(rand(5, 64)).in(rand(64)).in(rand(64)).outputs("y", "mean", "rstd").check();
        op("LayerNormalization").attr("axis", 1L).in(randF64(3, 4, 8)).in(randF64(4, 8)).check();
        op("LayerNormalization").in(rand(2, 3, 70)).in(rand(70)).in(rand(70)).outputs("y", "mean", "rstd").check();
    }
}
