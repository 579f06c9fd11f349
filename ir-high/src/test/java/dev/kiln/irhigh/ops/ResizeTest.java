package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Tensor;
import org.junit.jupiter.api.Test;

/** Resize of the ramp 1, 2, 3, 4 against coordinates worked out by hand for each mode. */
class ResizeTest {
    private static final Tensor X = f(dims(4), 1, 2, 3, 4);

    private static OpTesting.Spec resize(String mode, String ctm) {
        return op("Resize").opset(19).attr("mode", mode).attr("coordinate_transformation_mode", ctm);
    }

    private static Tensor scaled(OpTesting.Spec s, float scale) {
        return run1(s, X, null, f(scale));
    }

    private static Tensor sized(OpTesting.Spec s, long size) {
        return run1(s, X, null, null, i64(size));
    }

    @Test
    void nearestModesRoundTheSourceCoordinate() {
        // asymmetric: x = o / 2.
        assertValues(scaled(resize("nearest", "asymmetric").attr("nearest_mode", "floor"), 2), 1, 1, 2, 2, 3, 3, 4, 4);
        // half_pixel: x = o/2 - 0.25, rounded half down.
        assertValues(scaled(resize("nearest", "half_pixel"), 2), 1, 1, 2, 2, 3, 3, 4, 4);
        // Downscaling by 2 lands exactly between two inputs: x = 2o + 0.5.
        assertValues(scaled(resize("nearest", "half_pixel").attr("nearest_mode", "round_prefer_floor"), 0.5f), 1, 3);
        assertValues(scaled(resize("nearest", "half_pixel").attr("nearest_mode", "round_prefer_ceil"), 0.5f), 2, 4);
        assertValues(scaled(resize("nearest", "half_pixel").attr("nearest_mode", "ceil"), 0.5f), 2, 4);
        assertValues(scaled(resize("nearest", "asymmetric").attr("nearest_mode", "ceil"), 0.75f), 1, 3, 4);
    }

    @Test
    void linearInterpolatesBetweenTheTwoNeighboursAndClampsAtTheEdges() {
        assertValues(scaled(resize("linear", "asymmetric"), 2), 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4);
        assertValues(scaled(resize("linear", "half_pixel"), 2), 1, 1.25f, 1.75f, 2.25f, 2.75f, 3.25f, 3.75f, 4);
        assertValues(sized(resize("linear", "align_corners"), 7), 1, 1.5f, 2, 2.5f, 3, 3.5f, 4);
        // A single output: pytorch_half_pixel reads x = -0.5 (the first input), half_pixel the middle.
        assertValues(sized(resize("linear", "pytorch_half_pixel"), 1), 1);
        assertValues(sized(resize("linear", "half_pixel"), 1), 2.5f);
    }

    @Test
    void tfCropAndResizeReadsTheRoiAndExtrapolatesOutsideTheInput() {
        var s = resize("linear", "tf_crop_and_resize").attr("extrapolation_value", 10f);
        // x = 1.5 o over roi [0, 1.5] of an axis of length 4.
        assertValues(run1(s, X, f(0f, 1.5f), null, i64(4)), 1, 2.5f, 4, 10);
    }

    @Test
    void bilinearIsSeparable() {
        var y = run1(resize("linear", "asymmetric"), iota(1, 1, 2, 2), null, f(1, 1, 2, 2));
        assertShape(y, 1, 1, 4, 4);
        assertValues(y, 1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4);
    }

    @Test
    void cubicUsesFourTapsAndExcludeOutsideRenormalizes() {
        // At ratio 0.5 the A = -0.75 weights are -3/32, 19/32, 19/32, -3/32; taps at -1 clamp to 0.
        assertValues(scaled(resize("cubic", "asymmetric"), 2), 1e-6, 1, 1.40625f, 2, 2.5f, 3, 3.59375f, 4, 4.09375f);
        Tensor ex = scaled(resize("cubic", "asymmetric").attr("exclude_outside", 1L), 2);
        assertValues(Tensor.ofFloats(shape(1), new float[] {ex.floats()[1]}), 1e-6, (float) (1.5 / 1.09375));
    }

    @Test
    void olderFormsUseAsymmetricCoordinates() {
        // x = o / 0.75 = 0, 1.33, 2.67: Resize-10 rounds to nearest, Upsample takes the floor.
        assertValues(run1(op("Resize").opset(10).attr("mode", "nearest"), X, f(0.75f)), 1, 2, 4);
        assertValues(run1(op("Upsample").opset(9).attr("mode", "nearest"), X, f(0.75f)), 1, 2, 3);
        assertValues(run1(op("Upsample").opset(7).attr("mode", "linear").attr("scales", new float[] {2f}), X), 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4);
    }

    @Test
    void scalesAndSizesTogetherAreRejected() {
        String msg = error(resize("nearest", "asymmetric"), X, null, f(2f), i64(8));
        assertTrue(msg.contains("exactly one"), msg);
    }
}
