package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** ConvTranspose against hand-computed scatters: each input element adds w[k] at i*stride + k*dilation - pad. */
class ConvTransposeTest {
    @Test
    void strideSpreadsTheInputAndPadsCropTheOutput() {
        var x = f(dims(1, 1, 3), 1, 2, 3);
        var w = f(dims(1, 1, 2), 1, 10);
        assertValues(run1(op("ConvTranspose").attr("strides", new int[] {2}), x, w), 1, 10, 2, 20, 3, 30);
        assertValues(run1(op("ConvTranspose").attr("strides", new int[] {2}).attr("pads", new int[] {1, 0}), x, w), 10, 2, 20, 3, 30);
        // output_padding adds a position at the end that nothing lands on.
        assertValues(run1(op("ConvTranspose").attr("strides", new int[] {2}).attr("pads", new int[] {1, 0})
                .attr("output_padding", new int[] {1}), x, w), 10, 2, 20, 3, 30, 0);
        // An output_shape one longer than the natural size does the same.
        assertValues(run1(op("ConvTranspose").attr("strides", new int[] {2}).attr("output_shape", new int[] {7}), x, w),
                1, 10, 2, 20, 3, 30, 0);
    }

    @Test
    void overlappingTapsAdd() {
        var x = f(dims(1, 1, 3), 1, 2, 3);
        assertValues(run1(op("ConvTranspose"), x, f(dims(1, 1, 3), 1, 1, 1)), 1, 3, 6, 5, 3);
        // Dilation 2: taps at 0 and 2.
        assertValues(run1(op("ConvTranspose").attr("dilations", new int[] {2}), x, f(dims(1, 1, 2), 1, 10)), 1, 2, 13, 20, 30);
    }

    @Test
    void autoPadSameCutsTheOddPaddingFromTheEndOrTheBeginning() {
        var x = f(dims(1, 1, 3), 1, 2, 3);
        var w = f(dims(1, 1, 3), 1, 10, 100);
        // Full result 1, 10, 102, 20, 203, 30, 300; SAME keeps in*stride = 6 of them.
        assertValues(run1(op("ConvTranspose").attr("strides", new int[] {2}).attr("auto_pad", "SAME_UPPER"), x, w), 1, 10, 102, 20, 203, 30);
        assertValues(run1(op("ConvTranspose").attr("strides", new int[] {2}).attr("auto_pad", "SAME_LOWER"), x, w), 10, 102, 20, 203, 30, 300);
    }

    @Test
    void groupsKeepChannelsApartAndBiasIsPerOutputChannel() {
        var x = f(dims(1, 2, 2), 1, 2, 3, 4);
        var w = f(dims(2, 1, 1), 2, 5);
        // Two groups: output channel g sees only input channel g.
        var y = run1(op("ConvTranspose").attr("group", 2L), x, w, f(1, -1));
        assertShape(y, 1, 2, 2);
        assertValues(y, 3, 5, 14, 19);
        // One group: W [2, 1, 1] has one output channel summing both inputs.
        assertValues(run1(op("ConvTranspose"), x, w), 17, 24);
    }

    @Test
    void twoDimensionalStrideTwoRepeatsEachPixelIntoABlock() {
        var y = run1(op("ConvTranspose").attr("strides", new int[] {2, 2}), iota(1, 1, 2, 2), f(dims(1, 1, 2, 2), 1, 1, 1, 1));
        assertShape(y, 1, 1, 4, 4);
        assertValues(y, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4);
    }

    @Test
    void weightsThatDoNotMatchTheChannelsAreRejected() {
        String msg = error(op("ConvTranspose"), f(dims(1, 2, 3), 1, 2, 3, 4, 5, 6), f(dims(1, 1, 1), 1));
        assertTrue(msg.contains("input channels"), msg);
    }
}
