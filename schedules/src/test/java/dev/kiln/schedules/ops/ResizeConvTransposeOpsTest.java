package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import org.junit.jupiter.api.Test;

/** ConvTranspose and Resize kernels against the reference evaluator. */
class ResizeConvTransposeOpsTest {
    private static Tensor floats(float... v) {
        return Tensor.ofFloats(new Shape(v.length), v);
    }

    @Test
    void convTransposeStridesPadsOutputPaddingAndGroups() {
        op("ConvTranspose").in(rand(1, 3, 5, 5)).constant(rand(3, 2, 3, 3)).check();
        op("ConvTranspose").ints("strides", 2, 2).ints("pads", 1, 1, 1, 1).ints("output_padding", 1, 1)
                .in(rand(2, 2, 4, 5)).constant(rand(2, 3, 3, 3)).constant(rand(3)).check();
        op("ConvTranspose").attr("group", 2L).ints("strides", 3, 2).ints("dilations", 2, 1)
                .in(rand(1, 4, 3, 4)).in(rand(4, 3, 2, 3)).in(rand(6)).check();
        op("ConvTranspose").attr("auto_pad", "SAME_UPPER").ints("strides", 2).in(rand(1, 2, 5)).constant(rand(2, 1, 3)).check();
        op("ConvTranspose").ints("strides", 2, 1, 2).in(rand(1, 1, 2, 3, 2)).constant(rand(1, 2, 2, 2, 2)).check();
    }

    @Test
    void resizeNearestEachRoundingAndCoordinateMode() {
        for (String nm : new String[] {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})
            for (String ctm : new String[] {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"})
                op("Resize").attr("mode", "nearest").attr("nearest_mode", nm).attr("coordinate_transformation_mode", ctm)
                        .in(rand(1, 2, 3, 4)).none().constant(floats(1, 1, 2.5f, 0.6f)).check();
        op("Resize").attr("mode", "nearest").in(rand(2, 3, 4)).none().none().constant(longs(2, 7, 3)).check();
    }

    @Test
    void resizeLinearAndCubicEachCoordinateMode() {
        for (String mode : new String[] {"linear", "cubic"})
            for (String ctm : new String[] {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"}) {
                op("Resize").attr("mode", mode).attr("coordinate_transformation_mode", ctm)
                        .in(rand(1, 1, 4, 5)).none().constant(floats(1, 1, 2, 0.8f)).check();
                op("Resize").attr("mode", mode).attr("coordinate_transformation_mode", ctm)
                        .in(rand(1, 2, 3, 3)).none().none().constant(longs(1, 2, 1, 7)).check();
            }
        op("Resize").attr("mode", "cubic").attr("exclude_outside", 1L).attr("cubic_coeff_a", -0.5f)
                .in(rand(1, 1, 4, 4)).none().constant(floats(1, 1, 1.5f, 1.5f)).check();
    }

    @Test
    void olderFormsResizeAndUpsample() {
        op("Resize").opset(10).attr("mode", "nearest").in(rand(1, 2, 3, 4)).constant(floats(1, 1, 2.5f, 0.75f)).check();
        op("Upsample").opset(9).attr("mode", "linear").in(rand(1, 2, 3, 4)).constant(floats(1, 1, 2, 3)).check();
    }

    @Test
    void resizeTfCropAndResizeExtrapolates() {
        op("Resize").attr("mode", "linear").attr("coordinate_transformation_mode", "tf_crop_and_resize")
                .attr("extrapolation_value", 10f).in(rand(1, 1, 4, 4))
                .constant(floats(0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 0.7f)).none().constant(longs(1, 1, 3, 3)).check();
    }
}
