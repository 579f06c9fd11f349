package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * GridSample (opset 16 names bilinear/bicubic, opset 20 linear/cubic, and nearest; padding
 * zeros, border or reflection; align_corners): X {@code [N, C, D1..Dk]} sampled at the
 * normalized coordinates of grid {@code [N, O1..Ok, k]} (the last axis lists them innermost
 * dimension first, x before y), giving {@code [N, C, O1..Ok]}. Coordinates are mapped to pixels,
 * moved inside the borders (border, reflection; not for cubic, as ONNX Runtime and PyTorch do),
 * then interpolated separably; taps outside the input read 0 (zeros), the nearest edge pixel
 * (border) or their reflection.
 */
public final class GridSample implements OpDef {
    /** The interpolation, by its opset-20 name. */
    public enum Mode { LINEAR, NEAREST, CUBIC }

    public enum Padding { ZEROS, BORDER, REFLECTION }

    /** The node's mode, padding and alignment. */
    public record Settings(Mode mode, Padding padding, boolean alignCorners) {}

    public static Settings settings(Node n) {
        Mode mode = switch (n.attrString("mode", n.opset() >= 20 ? "linear" : "bilinear")) {
            case "bilinear", "linear" -> Mode.LINEAR;
            case "bicubic", "cubic" -> Mode.CUBIC;
            case "nearest" -> Mode.NEAREST;
            default -> throw n.error("has mode '" + n.attrString("mode", "") + "'; GridSample takes linear (bilinear), nearest or cubic (bicubic)");
        };
        Padding padding = switch (n.attrString("padding_mode", "zeros")) {
            case "zeros" -> Padding.ZEROS;
            case "border" -> Padding.BORDER;
            case "reflection" -> Padding.REFLECTION;
            default -> throw n.error("has padding_mode '" + n.attrString("padding_mode", "") + "'; GridSample takes zeros, border or reflection");
        };
        return new Settings(mode, padding, n.attrInt("align_corners", 0) != 0);
    }

    /** The pixel coordinate of normalized coordinate v along a dimension of {@code size}. */
    public static double denormalize(double v, long size, boolean alignCorners) {
        return alignCorners ? (v + 1) / 2 * (size - 1) : ((v + 1) * size - 1) / 2;
    }

    /** The smallest and largest coordinate inside the input along a dimension of {@code size}. */
    public static double[] borders(long size, boolean alignCorners) {
        return alignCorners ? new double[] {0, size - 1} : new double[] {-0.5, size - 0.5};
    }

    /** x reflected by the nearer border until it lies within [lo, hi]. */
    public static double reflect(double x, double lo, double hi) {
        double range = hi - lo;
        if (x < lo) {
            double dx = lo - x, k = Math.floor(dx / range), r = dx - k * range;
            return k % 2 == 0 ? lo + r : hi - r;
        }
        if (x > hi) {
            double dx = x - hi, k = Math.floor(dx / range), r = dx - k * range;
            return k % 2 == 0 ? hi - r : lo + r;
        }
        return x;
    }

    /** Keys' cubic convolution weights (a = -0.75) of the four taps around a point at distance t past the second. */
    public static double[] cubicWeights(double t) {
        double a = -0.75, x = Math.abs(t);
        return new double[] {
            ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a,
            ((a + 2) * x - (a + 3)) * x * x + 1,
            ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1,
            ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a};
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X"), grid = Ops.required(n, inputs, 1, "grid");
        Ops.requireFloat(n, x, 0, "X");
        Ops.requireFloat(n, grid, 1, "grid");
        Ops.requireRankAtLeast(n, x, 0, "X", 3);
        int k = x.shape().rank() - 2;
        if (grid.shape().rank() != k + 2 || grid.shape().dim(k + 1) != k || grid.shape().dim(0) != x.shape().dim(0))
            throw n.error(Ops.in(n, 1, "grid") + " has shape " + grid.shape() + " but X " + x.shape() + " needs [" + x.shape().dim(0)
                    + ", " + k + " output dims, " + k + "]");
        settings(n);
        long[] out = new long[k + 2];
        out[0] = x.shape().dim(0);
        out[1] = x.shape().dim(1);
        for (int d = 0; d < k; d++) out[d + 2] = grid.shape().dim(d + 1);
        return List.of(Ops.out(n, 0, x.dtype(), Shape.of(out)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Settings s = settings(n);
        Tensor x = inputs.get(0), grid = inputs.get(1);
        int k = x.shape().rank() - 2;
        long[] in = new long[k];
        for (int d = 0; d < k; d++) in[d] = x.shape().dim(d + 2);
        Shape ys = types.get(0).shape();
        long positions = grid.shape().numel() / grid.shape().dim(0) / k, channels = x.shape().dim(1), pixels = 1;
        for (long v : in) pixels *= v;
        double[] xs = TensorData.toDoubles(x), gs = TensorData.toDoubles(grid), y = new double[(int) ys.numel()];
        for (int b = 0; b < x.shape().dim(0); b++)
            for (long p = 0; p < positions; p++) {
                double[] coord = new double[k];
                for (int d = 0; d < k; d++) {
                    double v = (float) denormalize(gs[(int) ((b * positions + p) * k + (k - 1 - d))], in[d], s.alignCorners());
                    if (s.mode() == Mode.NEAREST) v = k == 3 ? Math.signum(v) * Math.floor(Math.abs(v) + 0.5) : Math.rint(v);
                    double[] br = borders(in[d], s.alignCorners());
                    // Cubic taps are padded one by one, the point itself is not moved (as PyTorch and
                    // ONNX Runtime do; the ONNX reference moves it, which differs only outside the input).
                    if (s.mode() != Mode.CUBIC && (v < br[0] || v > br[1])) {
                        if (s.padding() == Padding.BORDER) v = Math.max(0, Math.min(in[d] - 1, v));
                        else if (s.padding() == Padding.REFLECTION) v = reflect(v, br[0], br[1]);
                    }
                    coord[d] = v;
                }
                for (long c = 0; c < channels; c++) {
                    long base = (b * channels + c) * pixels;
                    y[(int) ((b * channels + c) * positions + p)] = sample(xs, base, in, coord, s, 0, 0);
                }
            }
        return List.of(TensorData.fromDoubles(x.dtype(), ys, y));
    }

    /** The interpolated value over dimensions d.. of the pixel block starting at flat offset {@code at}. */
    private static double sample(double[] xs, long base, long[] in, double[] coord, Settings s, int d, long at) {
        if (d == in.length) return xs[(int) (base + at)];
        long stride = 1;
        for (int e = d + 1; e < in.length; e++) stride *= in[e];
        long i0 = (long) Math.floor(coord[d]);
        double t = coord[d] - i0;
        long[] taps;
        double[] w;
        switch (s.mode()) {
            case NEAREST -> {
                taps = new long[] {(long) coord[d]};
                w = new double[] {1};
            }
            case LINEAR -> {
                taps = new long[] {i0, i0 + 1};
                w = new double[] {1 - t, t};
            }
            default -> {
                taps = new long[] {i0 - 1, i0, i0 + 1, i0 + 2};
                w = cubicWeights(t);
            }
        }
        double sum = 0;
        for (int j = 0; j < taps.length; j++) {
            long i = taps[j];
            if (i < 0 || i >= in[d]) {
                if (s.padding() == Padding.ZEROS) continue;
                double[] br = borders(in[d], s.alignCorners());
                i = s.padding() == Padding.BORDER ? Math.max(0, Math.min(in[d] - 1, i)) : (long) reflect(i, br[0], br[1]);
            }
            sum += w[j] * sample(xs, base, in, coord, s, d + 1, at + i * stride);
        }
        return sum;
    }
}
