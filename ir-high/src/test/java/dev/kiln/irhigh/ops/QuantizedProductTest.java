package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The reference MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv against the ONNX examples and plain long loops. */
class QuantizedProductTest {
    private static final Random R = new Random(5);

    private static Tensor random(DType t, int... dims) {
        long[] range = Quantize.range(t);
        return Tensor.generate(t, new Shape(dims), i -> range[0] + R.nextInt((int) (range[1] - range[0] + 1)));
    }

    private static Tensor u8(int[] dims, long... v) {
        return of(DType.UINT8, dims, v);
    }

    @Test
    void matMulIntegerOnnxExample() {
        Tensor a = u8(dims(4, 3), 11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0), b = u8(dims(3, 2), 1, 4, 2, 5, 3, 6);
        Tensor y = run1(op("MatMulInteger"), a, b, u8(dims(), 12), u8(dims(), 0));
        assertEquals(DType.INT32, y.dtype());
        assertLongs(y, -38, -83, -44, -98, -50, -113, -56, -128);
    }

    @Test
    void qlinearMatMulOnnxExample() {
        Tensor a = u8(dims(2, 4), 208, 236, 0, 238, 3, 214, 255, 29);
        Tensor b = u8(dims(4, 3), 152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247);
        Tensor y = run1(op("QLinearMatMul"), a, f(dims(), 0.0066f), u8(dims(), 113), b, f(dims(), 0.00705f), u8(dims(), 114),
                f(dims(), 0.0107f), u8(dims(), 118));
        assertEquals(DType.UINT8, y.dtype());
        assertLongs(y, 168, 115, 255, 1, 66, 151);
    }

    /** (A - a_zp[row]) @ (B - b_zp[col]) for A [batch, M, K] and B [K, N], in long. */
    private static long[] matmul(Tensor a, Tensor azp, Tensor b, Tensor bzp) {
        int r = a.shape().rank(), m = a.shape().dim(r - 2), k = a.shape().dim(r - 1), n = b.shape().dim(1), batch = a.size() / (m * k);
        long[] y = new long[batch * m * n];
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    for (int q = 0; q < k; q++)
                        y[(p * m + i) * n + j] += (a.getLong((p * m + i) * k + q) - azp.getLong(azp.size() == 1 ? 0 : i))
                                * (b.getLong(q * n + j) - bzp.getLong(bzp.size() == 1 ? 0 : j));
        return y;
    }

    @Test
    void matMulIntegerPerRowAndPerColumnZeroPoints() {
        for (DType t : new DType[] {DType.UINT8, DType.INT8}) {
            Tensor a = random(t, 2, 3, 5), b = random(DType.INT8, 5, 4), azp = random(t, 3), bzp = random(DType.INT8, 4);
            assertLongs(run1(op("MatMulInteger"), a, b, azp, bzp), matmul(a, azp, b, bzp));
            // Zero points omitted: zero.
            assertLongs(run1(op("MatMulInteger"), a, b), matmul(a, Tensor.zeros(t, new Shape()), b, Tensor.zeros(DType.INT8, new Shape())));
        }
    }

    /** Conv2d of (x - xzp) with (w - wzp[m]) in long, group 1, square pads and strides. */
    private static long[] conv(Tensor x, long xzp, Tensor w, Tensor wzp, int pad, int stride) {
        int c = x.shape().dim(1), h = x.shape().dim(2), wd = x.shape().dim(3), m = w.shape().dim(0), k = w.shape().dim(2);
        int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
        long[] y = new long[m * oh * ow];
        for (int o = 0; o < m; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int ci = 0; ci < c; ci++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int ih = i * stride + u - pad, iw = j * stride + v - pad;
                                if (ih < 0 || iw < 0 || ih >= h || iw >= wd) continue;
                                y[(o * oh + i) * ow + j] += (x.getLong((ci * h + ih) * wd + iw) - xzp)
                                        * (w.getLong(((o * c + ci) * k + u) * k + v) - wzp.getLong(wzp.size() == 1 ? 0 : o));
                            }
        return y;
    }

    @Test
    void convIntegerWithPaddingStridesAndPerChannelWeightZeroPoints() {
        Tensor x = random(DType.UINT8, 1, 3, 7, 6), w = random(DType.INT8, 4, 3, 3, 3), wzp = random(DType.INT8, 4);
        Tensor y = run1(op("ConvInteger").attr("pads", new int[] {1, 1, 1, 1}).attr("strides", new int[] {2, 2}), x, w, u8(dims(), 7), wzp);
        assertShape(y, 1, 4, 4, 3);
        assertLongs(y, conv(x, 7, w, wzp, 1, 2));
        assertLongs(run1(op("ConvInteger"), x, w), conv(x, 0, w, Tensor.zeros(DType.INT8, new Shape()), 0, 1));
    }

    @Test
    void qlinearConvPerChannelScalesAndBiasRequantizeLikeOnnxRuntime() {
        Tensor x = random(DType.INT8, 1, 3, 5, 5), w = random(DType.INT8, 4, 3, 3, 3), wzp = random(DType.INT8, 4);
        Tensor ws = Tensor.ofFloats(new Shape(4), 0.011f, 0.0043f, 0.02f, 0.0071f), bias = Tensor.ofLongs(new Shape(4), 900, -1234, 0, 77).cast(DType.INT32);
        float xs = 0.017f, ys = 0.093f;
        Tensor y = run1(op("QLinearConv").attr("pads", new int[] {1, 1, 1, 1}), x, f(dims(), xs), of(DType.INT8, dims(), -3), w, ws, wzp,
                f(dims(), ys), of(DType.INT8, dims(), 5), bias);
        assertEquals(DType.INT8, y.dtype());
        long[] acc = conv(x, -3, w, wzp, 1, 1);
        long[] expected = new long[acc.length];
        int saturated = 0;
        for (int e = 0; e < acc.length; e++) {
            int o = e / 25;
            float m = xs * (float) ws.getDouble(o) / ys;
            long q = (long) Math.rint((float) (acc[e] + bias.getLong(o)) * m) + 5;
            expected[e] = Math.max(-128, Math.min(127, q));
            if (expected[e] != q) saturated++;
        }
        assertLongs(y, expected);
        assertTrue(saturated < acc.length / 2, "the scales are meant to keep most outputs in range");
    }

    @Test
    void qlinearMatMulPerRowAndPerColumnScales() {
        Tensor a = random(DType.UINT8, 3, 6), b = random(DType.UINT8, 6, 2), azp = random(DType.UINT8, 3), bzp = random(DType.UINT8, 2);
        Tensor as = Tensor.ofFloats(new Shape(3), 0.01f, 0.02f, 0.005f), bs = Tensor.ofFloats(new Shape(2), 0.03f, 0.007f);
        Tensor y = run1(op("QLinearMatMul"), a, as, azp, b, bs, bzp, f(dims(), 0.05f), u8(dims(), 128));
        long[] acc = matmul(a, azp, b, bzp), expected = new long[6];
        for (int e = 0; e < 6; e++) {
            float m = (float) as.getDouble(e / 2) * (float) bs.getDouble(e % 2) / 0.05f;
            expected[e] = Math.max(0, Math.min(255, (long) Math.rint((float) acc[e] * m) + 128));
        }
        assertLongs(y, expected);
    }

    @Test
    void otherTypesAndPerChannelInputZeroPointsAreRefused() {
        Tensor a16 = of(DType.INT16, dims(2, 2), 1, 2, 3, 4);
        assertTrue(error(op("MatMulInteger"), a16, a16).contains("needs uint8 or int8"));
        Tensor x = random(DType.UINT8, 1, 2, 3, 3), w = random(DType.UINT8, 2, 2, 1, 1);
        String msg = error(op("ConvInteger"), x, w, random(DType.UINT8, 2));
        assertTrue(msg.contains("per tensor"), msg);
        msg = error(op("MatMulInteger"), random(DType.UINT8, 2, 3), random(DType.UINT8, 3, 4), u8(dims(), 1), random(DType.INT8, 4));
        assertTrue(msg.contains("dtype"), msg);
    }
}
