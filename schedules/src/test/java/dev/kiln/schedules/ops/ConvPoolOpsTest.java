package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import org.junit.jupiter.api.Test;

/** Conv and pooling against the reference evaluator: strides, pads, dilations, groups, ceil_mode, odd sizes. */
class ConvPoolOpsTest {
    @Test
    void convPlain() {
        op("Conv").in(rand(1, 3, 7, 7)).constant(rand(4, 3, 3, 3)).check();
        op("Conv").in(rand(2, 2, 5, 6)).constant(rand(3, 2, 1, 1)).check();                   // pointwise: H*W as one row
        op("Conv").attr("group", 2L).in(rand(1, 4, 3, 7)).constant(rand(6, 2, 1, 1)).constant(rand(6)).check();
        op("Conv").in(rand(1, 2, 3, 4, 5)).constant(rand(3, 2, 1, 1, 1)).check();
        op("Conv").ints("strides", 2, 2).in(rand(1, 3, 7, 9)).constant(rand(4, 3, 1, 1)).check();  // 1x1 strided: not flattened
        op("Conv").in(rand(1, 3, 9, 20)).constant(rand(5, 3, 3, 3)).constant(rand(5)).check(); // bias, ow 18
    }

    @Test
    void convPadsStridesDilations() {
        op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 3, 7, 7)).constant(rand(4, 3, 3, 3)).check();
        op("Conv").ints("pads", 1, 2, 0, 1).ints("strides", 2, 2).in(rand(2, 3, 13, 13)).constant(rand(4, 3, 3, 3)).constant(rand(4)).check();
        op("Conv").ints("pads", 2, 2, 2, 2).ints("dilations", 2, 2).in(rand(1, 2, 9, 11)).constant(rand(3, 2, 3, 3)).check();
        op("Conv").ints("strides", 2, 1).ints("dilations", 1, 2).in(rand(1, 2, 8, 11)).constant(rand(3, 2, 2, 3)).check();
        op("Conv").ints("pads", 3, 3, 3, 3).ints("strides", 2, 2).in(rand(1, 3, 17, 17)).constant(rand(8, 3, 7, 7)).constant(rand(8)).check();
    }

    @Test
    void convAutoPad() {
        op("Conv").attr("auto_pad", "SAME_UPPER").in(rand(1, 2, 7, 8)).constant(rand(3, 2, 3, 3)).check();
        op("Conv").attr("auto_pad", "SAME_LOWER").ints("strides", 2, 2).in(rand(1, 2, 7, 8)).constant(rand(3, 2, 4, 4)).check();
        op("Conv").attr("auto_pad", "VALID").in(rand(1, 2, 7, 8)).constant(rand(3, 2, 3, 3)).check();
    }

    @Test
    void convGroupsAndDepthwise() {
        op("Conv").attr("group", 2L).in(rand(1, 4, 7, 9)).constant(rand(6, 2, 3, 3)).constant(rand(6)).check();
        op("Conv").attr("group", 6L).ints("pads", 1, 1, 1, 1).in(rand(2, 6, 13, 13)).constant(rand(6, 1, 3, 3)).check(); // depthwise
        op("Conv").attr("group", 3L).ints("pads", 1, 1, 1, 1).ints("strides", 2, 2).in(rand(1, 3, 9, 9))
                .constant(rand(6, 1, 3, 3)).constant(rand(6)).check();                                              // multiplier 2
        op("Conv").attr("group", 4L).ints("pads", 1, 1, 1, 1).in(rand(1, 4, 20, 37)).constant(rand(4, 1, 3, 3)).target(AVX512).check();
    }

    @Test
    void conv1dAnd3d() {
        op("Conv").ints("pads", 1, 1).in(rand(2, 3, 13)).constant(rand(4, 3, 3)).constant(rand(4)).check();
        op("Conv").ints("pads", 1, 0, 1, 1, 0, 1).in(rand(1, 2, 3, 4, 5)).constant(rand(2, 2, 3, 2, 3)).check();
    }

    @Test
    void convRuntimeWeightsAndF64() {
        op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 2, 5, 5)).in(rand(3, 2, 3, 3)).in(rand(3)).check();
        op("Conv").ints("pads", 1, 1, 1, 1).in(randF64(1, 2, 5, 5)).in(randF64(3, 2, 3, 3)).check();
    }

    @Test
    void convLargeEnoughToRunInParallel() {
        op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 8, 18, 18)).constant(rand(8, 8, 3, 3)).constant(rand(8)).check();
    }

    @Test
    void maxPool() {
        op("MaxPool").ints("kernel_shape", 2, 2).ints("strides", 2, 2).in(rand(1, 3, 8, 8)).check();
        op("MaxPool").ints("kernel_shape", 3, 3).ints("strides", 2, 2).ints("pads", 1, 1, 1, 1).in(rand(2, 3, 13, 13)).check();
        op("MaxPool").ints("kernel_shape", 3, 3).ints("strides", 2, 2).attr("ceil_mode", 1L).in(rand(1, 2, 8, 9)).check();
        op("MaxPool").ints("kernel_shape", 2, 3).ints("dilations", 2, 1).ints("pads", 1, 0, 0, 1).in(rand(1, 2, 9, 7)).check();
        // The Indices output, row- and column-major, with ties (few distinct values).
        op("MaxPool").ints("kernel_shape", 3, 3).ints("strides", 2, 1).ints("pads", 1, 1, 1, 0).in(levels(2, 3, 9, 7))
                .outputs("y", "idx").check();
        op("MaxPool").ints("kernel_shape", 2, 2).attr("storage_order", 1L).in(levels(1, 2, 6, 5)).outputs("y", "idx").check();
        op("MaxPool").ints("kernel_shape", 3).ints("strides", 1).attr("auto_pad", "SAME_UPPER").in(rand(2, 3, 11)).check();
        op("MaxPool").ints("kernel_shape", 3, 3).ints("pads", 1, 1, 1, 1).in(rand(1, 2, 7, 40)).target(AVX512).check();
        op("MaxPool").ints("kernel_shape", 2, 2).in(randInt(dev.kiln.irhigh.DType.INT32, -50, 50, 1, 2, 5, 5)).check();
    }

    @Test
    void averagePool() {
        op("AveragePool").ints("kernel_shape", 2, 2).ints("strides", 2, 2).in(rand(1, 3, 8, 8)).check();
        op("AveragePool").ints("kernel_shape", 3, 3).ints("pads", 1, 1, 1, 1).in(rand(1, 2, 7, 9)).check();
        op("AveragePool").ints("kernel_shape", 3, 3).ints("pads", 1, 1, 1, 1).attr("count_include_pad", 1L).in(rand(1, 2, 7, 9)).check();
        op("AveragePool").ints("kernel_shape", 3, 3).ints("strides", 2, 2).attr("ceil_mode", 1L).in(rand(1, 2, 8, 10)).check();
        op("AveragePool").ints("kernel_shape", 3, 3).ints("strides", 2, 2).ints("pads", 1, 1, 1, 1).attr("ceil_mode", 1L)
                .attr("count_include_pad", 1L).in(rand(1, 2, 8, 10)).check();
        op("AveragePool").opset(19).ints("kernel_shape", 2, 2).ints("dilations", 2, 2).ints("pads", 1, 1, 1, 1).in(rand(1, 2, 7, 7)).check();
        op("AveragePool").ints("kernel_shape", 3).ints("strides", 2).ints("pads", 2, 1).in(rand(2, 3, 13)).check();
        op("AveragePool").ints("kernel_shape", 2, 2).in(randF64(1, 2, 5, 5)).check();
    }

    @Test
    void globalPools() {
        op("GlobalAveragePool").in(rand(2, 3, 7, 5)).check();
        op("GlobalMaxPool").in(rand(2, 3, 7, 5)).check();
        op("GlobalAveragePool").in(rand(1, 13, 1, 1)).check();
        op("GlobalMaxPool").in(rand(1, 5, 9)).check();
        op("GlobalAveragePool").in(rand(1, 64, 16, 16)).check();       // 256 = 16 x 16 lanes
        op("GlobalMaxPool").in(rand(2, 3, 4, 8)).check();
    }

    /** Five levels, -2 to 2, in a scrambled order: windows hold ties. */
    private static Tensor levels(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> (i * 7 + i / 5) % 5 - 2);
    }
}
