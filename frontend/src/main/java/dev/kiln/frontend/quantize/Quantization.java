package dev.kiln.frontend.quantize;

import dev.kiln.irhigh.DType;

/**
 * The arithmetic of linear quantization, as ONNX Runtime's quantization tool does it, so that a model
 * quantized here and there gets the same scales: activations asymmetric over their range widened to
 * hold 0, weights symmetric int8 in [-127, 127].
 */
public final class Quantization {
    private Quantization() {}

    /** A scale and zero point: {@code real = (q - zeroPoint) * scale}. */
    public record Params(float scale, int zeroPoint) {}

    /** Quantized weights: the int8 values and one scale per channel (one in all, per tensor). */
    public record Weights(byte[] values, float[] scales) {}

    /**
     * The parameters of an activation whose values lie in {@code [min, max]}: the range is widened to
     * hold 0 (so zero padding is exact), {@code scale = (max - min) / (qmax - qmin)}, {@code zero point =
     * round(qmin - min / scale)}. A range of width 0 takes scale 1.
     */
    public static Params activation(float min, float max, DType type) {
        int qmin = type == DType.UINT8 ? 0 : -128, qmax = type == DType.UINT8 ? 255 : 127;
        double lo = Math.min(min, 0.0), hi = Math.max(max, 0.0);
        if (!Double.isFinite(lo) || !Double.isFinite(hi))
            throw new IllegalArgumentException("range [" + min + ", " + max + "] is not finite");
        float scale = (float) ((hi - lo) / (qmax - qmin));
        if (scale == 0f) scale = 1f;
        long zp = Math.round(Math.rint(qmin - lo / scale));
        return new Params(scale, (int) Math.max(qmin, Math.min(qmax, zp)));
    }

    /**
     * Symmetric int8 weights: per channel along {@code axis} (-1: one scale for the tensor), each scale
     * {@code max|w| / 127} (1 where the channel is all zeros), {@code q = clamp(round_half_even(w / scale), -127, 127)}.
     */
    public static Weights weights(float[] w, long[] dims, int axis) {
        int channels = axis < 0 ? 1 : (int) dims[axis];
        long inner = 1;
        for (int d = axis + 1; axis >= 0 && d < dims.length; d++) inner *= dims[d];
        float[] absMax = new float[channels];
        for (int i = 0; i < w.length; i++) {
            int c = channel(i, inner, channels, axis);
            absMax[c] = Math.max(absMax[c], Math.abs(w[i]));
        }
        float[] scales = new float[channels];
        for (int c = 0; c < channels; c++) scales[c] = absMax[c] == 0f ? 1f : absMax[c] / 127f;
        byte[] q = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            double v = Math.rint(w[i] / scales[channel(i, inner, channels, axis)]);
            q[i] = (byte) Math.max(-127, Math.min(127, v));
        }
        return new Weights(q, scales);
    }

    private static int channel(int i, long inner, int channels, int axis) {
        return axis < 0 ? 0 : (int) ((i / inner) % channels);
    }
}
