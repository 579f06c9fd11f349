package dev.kiln.frontend.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The scales and zero points, worked by hand, and the calibration methods on distributions whose answer is known. */
class QuantizationTest {
    @Test
    void activationRangeIsWidenedToHoldZero() {
        // [0.5, 2.55] widens to [0, 2.55]: scale 0.01, zero point 0.
        Quantization.Params p = Quantization.activation(0.5f, 2.55f, DType.UINT8);
        assertEquals(0.01f, p.scale(), 1e-9);
        assertEquals(0, p.zeroPoint());
        // [-1, 3] over uint8: scale 4/255, zero point round(255/4) = 64.
        p = Quantization.activation(-1f, 3f, DType.UINT8);
        assertEquals(4f / 255, p.scale(), 1e-9);
        assertEquals(64, p.zeroPoint());
        // The same over int8: zero point round(-128 + 63.75) = -64.
        assertEquals(-64, Quantization.activation(-1f, 3f, DType.INT8).zeroPoint());
        // A tensor of zeros: scale 1, and zero is exact.
        assertEquals(1f, Quantization.activation(0f, 0f, DType.UINT8).scale());
    }

    @Test
    void weightsAreSymmetricPerChannel() {
        float[] w = {1f, -0.5f, 0.25f, /* channel 1 */ 0f, 0f, 0f, /* channel 2 */ -2.54f, 1.27f, 0.01f};
        Quantization.Weights q = Quantization.weights(w, new long[] {3, 3}, 0);
        assertArrayEquals(new float[] {1f / 127, 1f, 2.54f / 127}, q.scales(), 1e-9f);
        assertArrayEquals(new byte[] {127, -64, 32, 0, 0, 0, -127, 64, 0}, q.values());
        Quantization.Weights t = Quantization.weights(w, new long[] {3, 3}, -1);
        assertEquals(1, t.scales().length);
        assertEquals(-127, t.values()[6]);
        assertEquals(50, t.values()[0]);
    }

    @Test
    void percentileClipsTheTails() {
        Calibration c = new Calibration(Calibration.Method.PERCENTILE, 99.0);
        float[] v = new float[10_000];
        for (int i = 0; i < v.length; i++) v[i] = i < 9_990 ? (i % 100) / 100f : 50f; // 0.1 % far outliers at 50
        c.observe("x", v);
        c.histogram("x", v);
        float[] r = c.ranges().get("x");
        assertEquals(0f, r[0], 1e-6);
        assertTrue(r[1] < 1.1f && r[1] >= 0.99f, "upper end " + r[1] + " drops the outliers and keeps the bulk");
        Calibration m = new Calibration(Calibration.Method.MINMAX, 99.999);
        m.observe("x", v);
        assertEquals(50f, m.ranges().get("x")[1]);
    }

    @Test
    void entropyCutsALongTailButNotAUniformRange() {
        Random rnd = new Random(1);
        float[] gauss = new float[200_000];
        for (int i = 0; i < gauss.length; i++) gauss[i] = (float) rnd.nextGaussian();
        gauss[0] = 40f; // one outlier stretches minmax to 40 standard deviations
        Calibration c = new Calibration(Calibration.Method.ENTROPY, 99.999);
        c.observe("g", gauss);
        c.histogram("g", gauss);
        float t = c.ranges().get("g")[1];
        assertTrue(t > 2.5f && t < 10f, "threshold " + t + " between the bulk and the outlier");
        float[] uniform = new float[200_000];
        for (int i = 0; i < uniform.length; i++) uniform[i] = rnd.nextFloat();
        Calibration u = new Calibration(Calibration.Method.ENTROPY, 99.999);
        u.observe("u", uniform);
        u.histogram("u", uniform);
        assertTrue(u.ranges().get("u")[1] > 0.95f, "a uniform range is kept: " + u.ranges().get("u")[1]);
    }
}
