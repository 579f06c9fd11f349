package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ConvTest {
    /** The image 1..9 in a 1x1x3x3 tensor. */
    private static final Tensor X = iota(1, 1, 3, 3);

    @Test
    void onesKernelWithPaddingSumsEachNeighbourhood() {
        Tensor w = f(dims(1, 1, 3, 3), 1, 1, 1, 1, 1, 1, 1, 1, 1);
        Tensor y = run1(op("Conv").attr("pads", new int[] {1, 1, 1, 1}), X, w, f(1f));
        assertShape(y, 1, 1, 3, 3);
        // Each output is 1 (bias) + the sum of the 3x3 neighbourhood that lies inside the image.
        assertValues(y, 13, 22, 17, 28, 46, 34, 25, 40, 29);
    }

    @Test
    void asymmetricKernelIsCorrelationNotConvolution() {
        // w[0][0] = 1 reads x(i-1, j-1); w[2][2] = 2 reads x(i+1, j+1).
        Tensor w = f(dims(1, 1, 3, 3), 1, 0, 0, 0, 0, 0, 0, 0, 2);
        assertValues(run1(op("Conv"), X, w), 19);
        assertValues(run1(op("Conv").attr("pads", new int[] {1, 1, 1, 1}), X, w), 10, 12, 0, 16, 19, 2, 0, 4, 5);
    }

    @Test
    void stridesSkipOutputs() {
        Tensor w = f(dims(1, 1, 3, 3), 1, 1, 1, 1, 1, 1, 1, 1, 1);
        Tensor y = run1(op("Conv").attr("pads", new int[] {1, 1, 1, 1}).attr("strides", new int[] {2, 2}), X, w);
        assertShape(y, 1, 1, 2, 2);
        assertValues(y, 12, 16, 24, 28);
    }

    @Test
    void autoPadSameUpperPadsAtTheEndAndSameLowerAtTheBeginning() {
        Tensor w = f(dims(1, 1, 2, 2), 1, 1, 1, 1);
        Tensor upper = run1(op("Conv").attr("auto_pad", "SAME_UPPER"), X, w);
        assertValues(upper, 12, 16, 9, 24, 28, 15, 15, 17, 9);
        Tensor lower = run1(op("Conv").attr("auto_pad", "SAME_LOWER"), X, w);
        assertValues(lower, 1, 3, 5, 5, 12, 16, 11, 24, 28);
        Tensor valid = run1(op("Conv").attr("auto_pad", "VALID"), X, w);
        assertValues(valid, 12, 16, 24, 28);
        // SAME with stride 2: output ceil(3/2) = 2, total padding 1.
        Tensor strided = run1(op("Conv").attr("auto_pad", "SAME_UPPER").attr("strides", new int[] {2, 2}), X, w);
        assertValues(strided, 12, 9, 15, 9);
    }

    @Test
    void dilationSpreadsTheKernel() {
        Tensor x = iota(1, 1, 5, 5);
        Tensor w = f(dims(1, 1, 2, 2), 1, 1, 1, 1);
        Tensor y = run1(op("Conv").attr("dilations", new int[] {2, 2}), x, w);
        assertShape(y, 1, 1, 3, 3);
        // Output (0,0) reads x(0,0), x(0,2), x(2,0), x(2,2) = 1 + 3 + 11 + 13.
        assertEquals(28f, y.floats()[0]);
    }

    @Test
    void groupsConvolveChannelsSeparately() {
        Tensor x = f(dims(1, 2, 1, 2), 1, 2, 3, 4);
        Tensor w = f(dims(2, 1, 1, 1), 10, 100);
        assertValues(run1(op("Conv").attr("group", 2), x, w), 10, 20, 300, 400);
    }

    @Test
    void matchesIm2colOnRandomData() {
        Random r = new Random(42);
        // {N, C, M, group}, spatial in, kernel, strides, pads (begin..., end...), dilations
        check(r, new int[] {2, 4, 6, 2}, new int[] {7, 6}, new int[] {3, 2}, new int[] {2, 1}, new int[] {1, 0, 2, 1}, new int[] {1, 2});
        check(r, new int[] {1, 3, 3, 3}, new int[] {6, 6}, new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1});
        check(r, new int[] {1, 16, 8, 1}, new int[] {14, 14}, new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1, 1, 1}, new int[] {1, 1});
        check(r, new int[] {1, 8, 4, 1}, new int[] {5, 5}, new int[] {1, 1}, new int[] {2, 2}, new int[] {0, 0, 0, 0}, new int[] {1, 1});
        check(r, new int[] {1, 3, 2, 1}, new int[] {10}, new int[] {4}, new int[] {3}, new int[] {2, 1}, new int[] {2});
        check(r, new int[] {1, 2, 3, 1}, new int[] {4, 5, 3}, new int[] {2, 3, 2}, new int[] {1, 2, 1}, new int[] {1, 0, 1, 0, 1, 1}, new int[] {1, 1, 2});
    }

    private static void check(Random r, int[] ncmg, int[] in, int[] k, int[] strides, int[] pads, int[] dil) {
        int n = ncmg[0], c = ncmg[1], m = ncmg[2], group = ncmg[3], s = in.length;
        int[] xd = new int[s + 2], wd = new int[s + 2];
        xd[0] = n;
        xd[1] = c;
        wd[0] = m;
        wd[1] = c / group;
        for (int i = 0; i < s; i++) {
            xd[i + 2] = in[i];
            wd[i + 2] = k[i];
        }
        Tensor x = random(r, xd), w = random(r, wd), b = random(r, m);
        Tensor y = run1(op("Conv").attr("group", group).attr("strides", strides).attr("pads", pads).attr("dilations", dil), x, w, b);
        double[] expected = Im2col.conv(x, w, b, group, strides, pads, dil);
        assertEquals(expected.length, y.size(), "output size of " + y.shape());
        for (int i = 0; i < expected.length; i++)
            assertTrue(Math.abs(expected[i] - y.floats()[i]) <= 1e-5 * (1 + Math.abs(expected[i])),
                    "element " + i + " of " + y.shape() + ": im2col " + expected[i] + " vs direct " + y.floats()[i]);
    }
}
