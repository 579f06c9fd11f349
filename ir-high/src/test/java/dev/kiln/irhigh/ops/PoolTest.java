package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;

import dev.kiln.irhigh.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolTest {
    private static final Tensor X = iota(1, 1, 3, 3); // 1..9

    @Test
    void maxPoolCeilModeAddsPartialWindows() {
        var spec = op("MaxPool").attr("kernel_shape", new int[] {2, 2}).attr("strides", new int[] {2, 2});
        assertValues(run1(spec, X), 5);
        Tensor ceil = run1(spec.attr("ceil_mode", 1), X);
        assertShape(ceil, 1, 1, 2, 2);
        assertValues(ceil, 5, 6, 8, 9);
    }

    @Test
    void averagePoolCeilModeDividesByTapsInsideTheInput() {
        var spec = op("AveragePool").attr("kernel_shape", new int[] {2, 2}).attr("strides", new int[] {2, 2}).attr("ceil_mode", 1);
        assertValues(run1(spec, X), 3, 4.5f, 7.5f, 9);
    }

    @Test
    void countIncludePadCountsPaddingButNotTapsPastIt() {
        // 1-D [1, 2, 3, 4], kernel 3, stride 2, pads 1 each side, ceil_mode: windows cover input
        // indices [-1..1], [1..3], [3..5]; index 4 is end padding and 5 lies past it.
        Tensor x = f(dims(1, 1, 4), 1, 2, 3, 4);
        var spec = op("AveragePool").attr("kernel_shape", new int[] {3}).attr("strides", new int[] {2})
                .attr("pads", new int[] {1, 1}).attr("ceil_mode", 1);
        assertValues(run1(spec, x), 1.5f, 3, 4);
        assertValues(run1(spec.attr("count_include_pad", 1), x), 1, 3, 2);
        var max = op("MaxPool").attr("kernel_shape", new int[] {3}).attr("strides", new int[] {2})
                .attr("pads", new int[] {1, 1}).attr("ceil_mode", 1);
        assertValues(run1(max, f(dims(1, 1, 4), -1, -2, -3, -4)), -1, -2, -4);
    }

    @Test
    void ceilModeDropsAWindowThatStartsInTheEndPadding() {
        // in 3, kernel 2, stride 2, pads 1+1: ceil gives 3 windows, but the third starts at padded
        // index 4 = past the input (3) plus begin padding (1), so it is dropped.
        var spec = op("MaxPool").attr("kernel_shape", new int[] {2}).attr("strides", new int[] {2})
                .attr("pads", new int[] {1, 1}).attr("ceil_mode", 1);
        assertValues(run1(spec, f(dims(1, 1, 3), 1, 2, 3)), 1, 3);
    }

    @Test
    void averagePoolWithPadding() {
        var spec = op("AveragePool").attr("kernel_shape", new int[] {3, 3}).attr("pads", new int[] {1, 1, 1, 1});
        Tensor excl = run1(spec, X);
        assertValues(excl, 1e-6, 3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7);
        Tensor incl = run1(spec.attr("count_include_pad", 1), X);
        assertValues(incl, 1e-6, 12 / 9f, 21 / 9f, 16 / 9f, 27 / 9f, 5, 33 / 9f, 24 / 9f, 39 / 9f, 28 / 9f);
    }

    @Test
    void maxPoolDilationsAndSamePadding() {
        Tensor x = iota(1, 1, 5, 5);
        var dil = op("MaxPool").attr("kernel_shape", new int[] {2, 2}).attr("dilations", new int[] {2, 2});
        Tensor y = run1(dil, x);
        assertShape(y, 1, 1, 3, 3);
        assertValues(y, 13, 14, 15, 18, 19, 20, 23, 24, 25);
        var same = op("MaxPool").attr("kernel_shape", new int[] {3, 3}).attr("strides", new int[] {2, 2}).attr("auto_pad", "SAME_UPPER");
        assertValues(run1(same, X), 5, 6, 8, 9);
    }

    @Test
    void maxPoolIndicesRowAndColumnMajor() {
        var spec = op("MaxPool").attr("kernel_shape", new int[] {2, 2}).outputs(2);
        List<Tensor> out = run(spec, X);
        assertValues(out.get(0), 5, 6, 8, 9);
        assertLongs(out.get(1), 4, 5, 7, 8);
        List<Tensor> col = run(spec.attr("storage_order", 1), X);
        assertLongs(col.get(1), 4, 7, 5, 8);
        // Batch and channel offsets are part of the flat index.
        List<Tensor> two = run(op("MaxPool").attr("kernel_shape", new int[] {3, 3}).outputs(2), iota(1, 2, 3, 3));
        assertLongs(two.get(1), 8, 17);
    }

    @Test
    void globalPools() {
        Tensor x = f(dims(1, 2, 2, 2), 1, 2, 3, 4, -5, -6, -7, -8);
        Tensor avg = run1(op("GlobalAveragePool"), x);
        assertShape(avg, 1, 2, 1, 1);
        assertValues(avg, 2.5f, -6.5f);
        assertValues(run1(op("GlobalMaxPool"), x), 4, -5);
    }

    @Test
    void maxPoolOnInt8() {
        Tensor x = of(dev.kiln.irhigh.DType.INT8, dims(1, 1, 1, 4), -128, 5, 127, -1);
        Tensor y = run1(op("MaxPool").attr("kernel_shape", new int[] {1, 2}).attr("strides", new int[] {1, 2}), x);
        assertLongs(y, 5, 127);
    }
}
