package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * The audio front-end ops: DFT (forward or inverse, real or complex input, zero-padded or cut
 * to dft_length, one-sided), STFT (frames of a signal, optionally windowed, one-sided by
 * default) and MelWeightMatrix (the triangular mel filter bank, a constant once its inputs are).
 * Complex values are a trailing dimension of 2 (real, imaginary), as ONNX has them.
 */
public final class Spectral {
    private Spectral() {}

    /** The angle of bin k at sample n of an N-point transform, with k*n reduced mod N first (exact in integers). */
    public static double angle(long k, long n, long size) {
        return 2 * Math.PI * Math.floorMod(k * n, size) / size;
    }

    /** What a DFT node asks for: the input viewed as {@code [outer, length, inner, channels]}, the transform size and bins. */
    public record DftShape(int axis, long outer, long length, long inner, int channels, long size, long bins, boolean inverse, boolean onesided) {}

    public static DftShape dftShape(Node n, Shape x, List<Tensor> consts) {
        int rank = x.rank();
        long axisValue;
        if (n.opset() >= 20) {
            Tensor a = Ops.constant(consts, 2);
            if (n.hasInput(2) && a == null) throw n.error(Ops.in(n, 2, "axis") + " must be a compile-time constant");
            axisValue = a != null ? a.getLong(0) : -2;
        } else {
            axisValue = n.attrInt("axis", 1);
        }
        int axis = (int) (axisValue < 0 ? axisValue + rank : axisValue);
        if (axis < 0 || axis >= rank - 1) throw n.error("has axis " + axisValue + " for an input of rank " + rank + " (the last dimension holds the complex parts)");
        int channels = x.dim(rank - 1);
        if (channels != 1 && channels != 2) throw n.error("has an input whose last dimension is " + channels + "; it must be 1 (real) or 2 (complex)");
        long length = x.dim(axis), size = length;
        if (n.hasInput(1)) {
            Tensor t = Ops.constant(consts, 1);
            if (t == null) throw n.error(Ops.in(n, 1, "dft_length") + " must be a compile-time constant: it decides the output shape");
            size = t.getLong(0);
            if (size < 1) throw n.error("has dft_length " + size + "; it must be positive");
        }
        boolean onesided = n.attrInt("onesided", 0) != 0, inverse = n.attrInt("inverse", 0) != 0;
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x.dim(d);
        for (int d = axis + 1; d < rank - 1; d++) inner *= x.dim(d);
        return new DftShape(axis, outer, length, inner, channels, size, onesided ? size / 2 + 1 : size, inverse, onesided);
    }

    static final OpDef DFT = new OpDef() {
        @Override
        public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
            Ops.requireOutputs(n, 1, 1);
            Value x = Ops.required(n, inputs, 0, "input");
            Ops.requireFloat(n, x, 0, "input");
            Ops.requireRankAtLeast(n, x, 0, "input", 2);
            DftShape s = dftShape(n, x.shape(), consts);
            long[] out = x.shape().longDims();
            out[s.axis()] = s.bins();
            out[out.length - 1] = 2;
            return List.of(Ops.out(n, 0, x.dtype(), Shape.of(out)));
        }

        @Override
        public List<Tensor> eval(Node n, List<Tensor> inputs) {
            List<Value> types = Ops.inferFrom(this, n, inputs);
            DftShape s = dftShape(n, inputs.get(0).shape(), inputs);
            double[] x = TensorData.toDoubles(inputs.get(0));
            double[] y = new double[(int) types.get(0).shape().numel()];
            long taps = Math.min(s.length(), s.size());
            for (long o = 0; o < s.outer(); o++)
                for (long k = 0; k < s.bins(); k++)
                    for (long i = 0; i < s.inner(); i++) {
                        double re = 0, im = 0;
                        for (long t = 0; t < taps; t++) {
                            int at = (int) (((o * s.length() + t) * s.inner() + i) * s.channels());
                            double xr = x[at], xi = s.channels() == 2 ? x[at + 1] : 0;
                            double th = angle(k, t, s.size()), c = Math.cos(th), sn = Math.sin(th);
                            if (s.inverse()) {
                                re += xr * c - xi * sn;
                                im += xi * c + xr * sn;
                            } else {
                                re += xr * c + xi * sn;
                                im += xi * c - xr * sn;
                            }
                        }
                        if (s.inverse()) {
                            re /= s.size();
                            im /= s.size();
                        }
                        int out = (int) (((o * s.bins() + k) * s.inner() + i) * 2);
                        y[out] = re;
                        y[out + 1] = im;
                    }
            return List.of(TensorData.fromDoubles(inputs.get(0).dtype(), types.get(0).shape(), y));
        }
    };

    /** What an STFT node asks for. */
    public record StftShape(long batch, long length, int channels, long step, long frameLength, long frames, long bins, boolean windowed) {}

    public static StftShape stftShape(Node n, Value signal, Value window, List<Tensor> consts) {
        Shape x = signal.shape();
        if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2))
            throw n.error(Ops.in(n, 0, "signal") + " has shape " + x + "; STFT takes [batch, length, 1 or 2]");
        long[] step = Ops.constLongs(n, consts, 1, "frame_step");
        if (step.length != 1 || step[0] < 1) throw n.error("has frame_step " + java.util.Arrays.toString(step) + "; it must be one positive integer");
        long frameLength;
        if (n.hasInput(3)) {
            frameLength = Ops.constLongs(n, consts, 3, "frame_length")[0];
            if (window != null && window.shape().dim(0) != frameLength)
                throw n.error("has a window of " + window.shape().dim(0) + " samples but frame_length " + frameLength);
        } else if (window != null) {
            if (window.shape().rank() != 1) throw n.error(Ops.in(n, 2, "window") + " has shape " + window.shape() + "; it must be 1-D");
            frameLength = window.shape().dim(0);
        } else {
            throw n.error("has neither a window nor a frame_length; STFT needs one of them");
        }
        if (frameLength < 1 || frameLength > x.dim(1))
            throw n.error("has frame length " + frameLength + " for a signal of " + x.dim(1) + " samples");
        long frames = 1 + (x.dim(1) - frameLength) / step[0];
        boolean onesided = n.attrInt("onesided", 1) != 0;
        return new StftShape(x.dim(0), x.dim(1), x.dim(2), step[0], frameLength, frames, onesided ? frameLength / 2 + 1 : frameLength, window != null);
    }

    static final OpDef STFT = new OpDef() {
        @Override
        public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
            Ops.requireOutputs(n, 1, 1);
            Value x = Ops.required(n, inputs, 0, "signal");
            Ops.requireFloat(n, x, 0, "signal");
            StftShape s = stftShape(n, x, Ops.optional(inputs, 2), consts);
            return List.of(Ops.out(n, 0, x.dtype(), new Shape((int) s.batch(), (int) s.frames(), (int) s.bins(), 2)));
        }

        @Override
        public List<Tensor> eval(Node n, List<Tensor> inputs) {
            List<Value> types = Ops.inferFrom(this, n, inputs);
            Value window = inputs.size() > 2 && inputs.get(2) != null ? Ops.types(n, inputs).get(2) : null;
            StftShape s = stftShape(n, Ops.types(n, inputs).get(0), window, inputs);
            double[] x = TensorData.toDoubles(inputs.get(0));
            double[] w = s.windowed() ? TensorData.toDoubles(inputs.get(2)) : null;
            double[] y = new double[(int) types.get(0).shape().numel()];
            for (long b = 0; b < s.batch(); b++)
                for (long f = 0; f < s.frames(); f++)
                    for (long k = 0; k < s.bins(); k++) {
                        double re = 0, im = 0;
                        for (long t = 0; t < s.frameLength(); t++) {
                            int at = (int) ((b * s.length() + f * s.step() + t) * s.channels());
                            double g = w != null ? w[(int) t] : 1;
                            double xr = x[at] * g, xi = s.channels() == 2 ? x[at + 1] * g : 0;
                            double th = angle(k, t, s.frameLength()), c = Math.cos(th), sn = Math.sin(th);
                            re += xr * c + xi * sn;
                            im += xi * c - xr * sn;
                        }
                        int out = (int) (((b * s.frames() + f) * s.bins() + k) * 2);
                        y[out] = re;
                        y[out + 1] = im;
                    }
            return List.of(TensorData.fromDoubles(inputs.get(0).dtype(), types.get(0).shape(), y));
        }
    };

    /** The mel filter bank {@code [dft_length/2 + 1, num_mel_bins]}, as the ONNX reference builds it. */
    static double[] melWeights(long mels, long dftLength, long sampleRate, double lowHz, double highHz) {
        long spectrogramBins = dftLength / 2 + 1;
        double lowMel = 2595 * Math.log10(1 + lowHz / 700), highMel = 2595 * Math.log10(1 + highHz / 700);
        double step = (highMel - lowMel) / (mels + 2); // as the ONNX reference divides
        long[] bins = new long[(int) mels + 2];
        for (int i = 0; i < bins.length; i++) {
            double hz = 700 * (Math.pow(10, (i * step + lowMel) / 2595) - 1);
            bins[i] = (long) Math.floor((dftLength + 1) * hz / sampleRate);
        }
        double[] w = new double[(int) (spectrogramBins * mels)];
        for (int i = 0; i < mels; i++) {
            long lo = bins[i], center = bins[i + 1], hi = bins[i + 2];
            if (center - lo == 0) {
                set(w, spectrogramBins, mels, center, i, 1);
            } else {
                for (long j = lo; j <= center; j++) set(w, spectrogramBins, mels, j, i, (double) (j - lo) / (center - lo));
            }
            if (hi - center > 0)
                for (long j = center; j < hi; j++) set(w, spectrogramBins, mels, j, i, (double) (hi - j) / (hi - center));
        }
        return w;
    }

    private static void set(double[] w, long rows, long mels, long j, int i, double v) {
        if (j >= 0 && j < rows) w[(int) (j * mels + i)] = v;
    }

    static final OpDef MEL_WEIGHT_MATRIX = new OpDef() {
        @Override
        public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
            Ops.requireInputs(n, 5, 5);
            Ops.requireOutputs(n, 1, 1);
            long mels = Ops.constLongs(n, consts, 0, "num_mel_bins")[0], dft = Ops.constLongs(n, consts, 1, "dft_length")[0];
            String[] roles = {"", "", "sample_rate", "lower_edge_hertz", "upper_edge_hertz"};
            for (int i = 2; i < 5; i++)
                if (Ops.constant(consts, i) == null)
                    throw n.error(Ops.in(n, i, roles[i]) + " must be a compile-time constant: Kiln computes the mel filter bank when it compiles");
            if (mels < 1 || dft < 1) throw n.error("has num_mel_bins " + mels + " and dft_length " + dft + "; both must be positive");
            DType t = DType.fromOnnx((int) n.attrInt("output_datatype", 1));
            if (!t.isFloat()) throw n.error("has output_datatype " + t.numpyName + "; Kiln computes float outputs");
            return List.of(Ops.out(n, 0, t, new Shape((int) (dft / 2 + 1), (int) mels)));
        }

        @Override
        public List<Tensor> eval(Node n, List<Tensor> inputs) {
            List<Value> types = Ops.inferFrom(this, n, inputs);
            double[] w = melWeights(inputs.get(0).getLong(0), inputs.get(1).getLong(0), inputs.get(2).getLong(0),
                    inputs.get(3).getDouble(0), inputs.get(4).getDouble(0));
            return List.of(TensorData.fromDoubles(types.get(0).dtype(), types.get(0).shape(), w));
        }
    };
}
