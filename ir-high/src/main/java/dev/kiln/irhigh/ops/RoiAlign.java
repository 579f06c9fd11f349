package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * RoiAlign (opsets 10 and 16): for each region {@code rois[r] = (x1, y1, x2, y2)} of image
 * {@code batch_indices[r]}, an {@code output_height x output_width} grid of bins, each the
 * average (or maximum) of bilinear samples on a regular grid inside it: {@code sampling_ratio}
 * samples per bin side, or {@code ceil(bin size)} when it is 0 (so the sample count depends on
 * the region, known only at run time). Coordinates are scaled by {@code spatial_scale} and
 * shifted by half a pixel in {@code half_pixel} mode (opset 16's default). Samples more than a
 * pixel outside the image count as 0; max mode takes, per sample, the largest of its four
 * weighted corners, as ONNX Runtime does.
 */
public final class RoiAlign implements OpDef {
    /** The node's attributes. */
    public record Settings(boolean halfPixel, boolean max, int outH, int outW, int samplingRatio, double spatialScale) {}

    public static Settings settings(Node n) {
        String ctm = n.attrString("coordinate_transformation_mode", n.opset() >= 16 ? "half_pixel" : "output_half_pixel");
        if (!ctm.equals("half_pixel") && !ctm.equals("output_half_pixel"))
            throw n.error("has coordinate_transformation_mode '" + ctm + "'; RoiAlign takes half_pixel or output_half_pixel");
        String mode = n.attrString("mode", "avg");
        if (!mode.equals("avg") && !mode.equals("max")) throw n.error("has mode '" + mode + "'; RoiAlign takes avg or max");
        long oh = n.attrInt("output_height", 1), ow = n.attrInt("output_width", 1), sr = n.attrInt("sampling_ratio", 0);
        if (oh < 1 || ow < 1 || sr < 0) throw n.error("has output " + oh + "x" + ow + " and sampling_ratio " + sr + "; they must be positive (ratio 0: adaptive)");
        return new Settings(ctm.equals("half_pixel"), mode.equals("max"), (int) oh, (int) ow, (int) sr, n.attrFloat("spatial_scale", 1f));
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 3, 3);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X"), rois = Ops.required(n, inputs, 1, "rois"), idx = Ops.required(n, inputs, 2, "batch_indices");
        Ops.requireFloat(n, x, 0, "X");
        Ops.requireRank(n, x, 0, "X", 4);
        Ops.requireRank(n, rois, 1, "rois", 2);
        Ops.requireSameDtype(n, x, 0, "X", rois, 1, "rois");
        Ops.requireRank(n, idx, 2, "batch_indices", 1);
        Ops.requireInteger(n, idx, 2, "batch_indices");
        if (rois.shape().dim(1) != 4 || idx.shape().dim(0) != rois.shape().dim(0))
            throw n.error("has rois " + rois.shape() + " and batch_indices " + idx.shape() + "; RoiAlign takes [R, 4] and [R]");
        Settings s = settings(n);
        return List.of(Ops.out(n, 0, x.dtype(), new Shape(rois.shape().dim(0), x.shape().dim(1), s.outH(), s.outW())));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Settings s = settings(n);
        Tensor x = inputs.get(0);
        int channels = x.shape().dim(1), height = x.shape().dim(2), width = x.shape().dim(3);
        double[] xs = TensorData.toDoubles(x), rs = TensorData.toDoubles(inputs.get(1));
        long[] batch = inputs.get(2).toLongArray();
        int regions = rs.length / 4;
        double[] y = new double[(int) types.get(0).shape().numel()];
        double offset = s.halfPixel() ? 0.5 : 0;
        // Coordinates in the tensor's precision, as ONNX Runtime computes them: a sample that lands
        // on the image's edge in float may land a hair outside in double.
        java.util.function.DoubleUnaryOperator q = x.dtype() == DType.FLOAT64 ? v -> v : v -> (float) v;
        for (int r = 0; r < regions; r++) {
            double x0 = q.applyAsDouble(q.applyAsDouble(rs[4 * r] * s.spatialScale()) - offset);
            double y0 = q.applyAsDouble(q.applyAsDouble(rs[4 * r + 1] * s.spatialScale()) - offset);
            double w = q.applyAsDouble(q.applyAsDouble(q.applyAsDouble(rs[4 * r + 2] * s.spatialScale()) - offset) - x0);
            double h = q.applyAsDouble(q.applyAsDouble(q.applyAsDouble(rs[4 * r + 3] * s.spatialScale()) - offset) - y0);
            if (!s.halfPixel()) {
                w = Math.max(w, 1);
                h = Math.max(h, 1);
            }
            double binH = q.applyAsDouble(h / s.outH()), binW = q.applyAsDouble(w / s.outW());
            int gridH = s.samplingRatio() > 0 ? s.samplingRatio() : (int) Math.ceil(h / s.outH());
            int gridW = s.samplingRatio() > 0 ? s.samplingRatio() : (int) Math.ceil(w / s.outW());
            double count = Math.max(gridH * gridW, 1);
            long b = batch[r];
            if (b < 0 || b >= x.shape().dim(0)) throw n.error("has batch index " + b + " for region " + r + " of a batch of " + x.shape().dim(0));
            for (int c = 0; c < channels; c++) {
                int plane = (int) ((b * channels + c) * height * width);
                for (int ph = 0; ph < s.outH(); ph++)
                    for (int pw = 0; pw < s.outW(); pw++) {
                        double acc = s.max() ? -Double.MAX_VALUE : 0;
                        boolean any = false;
                        for (int iy = 0; iy < gridH; iy++) {
                            double yy = q.applyAsDouble(q.applyAsDouble(y0 + q.applyAsDouble(ph * binH))
                                    + q.applyAsDouble(q.applyAsDouble((iy + 0.5) * binH) / gridH));
                            for (int ix = 0; ix < gridW; ix++) {
                                double xx = q.applyAsDouble(q.applyAsDouble(x0 + q.applyAsDouble(pw * binW))
                                        + q.applyAsDouble(q.applyAsDouble((ix + 0.5) * binW) / gridW));
                                double[] corners = corners(xs, plane, height, width, yy, xx);
                                any = true;
                                if (s.max()) for (double v : corners) acc = Math.max(acc, v);
                                else acc += corners[0] + corners[1] + corners[2] + corners[3];
                            }
                        }
                        y[((r * channels + c) * s.outH() + ph) * s.outW() + pw] = s.max() ? (any ? acc : 0) : acc / count;
                    }
            }
        }
        DType t = x.dtype();
        return List.of(TensorData.fromDoubles(t, types.get(0).shape(), y));
    }

    /** The four weighted corner values of a bilinear sample at (y, x); zeros more than a pixel outside the image. */
    private static double[] corners(double[] xs, int plane, int height, int width, double y, double x) {
        if (y < -1 || y > height || x < -1 || x > width) return new double[4];
        y = Math.max(y, 0);
        x = Math.max(x, 0);
        int yl = (int) y, xl = (int) x, yh, xh;
        if (yl >= height - 1) {
            yh = yl = height - 1;
            y = yl;
        } else {
            yh = yl + 1;
        }
        if (xl >= width - 1) {
            xh = xl = width - 1;
            x = xl;
        } else {
            xh = xl + 1;
        }
        double ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
        return new double[] {hy * hx * xs[plane + yl * width + xl], hy * lx * xs[plane + yl * width + xh],
            ly * hx * xs[plane + yh * width + xl], ly * lx * xs[plane + yh * width + xh]};
    }
}
