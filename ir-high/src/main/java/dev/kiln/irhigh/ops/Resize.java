package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/**
 * Resize (and the scales-only forms of Resize-10 and the older Upsample): nearest, linear or cubic interpolation, separable
 * per axis, following ONNX's reference implementation. Each axis maps an output position to a
 * coordinate in the input (coordinate_transformation_mode) and from it to a few input taps with
 * weights; an output element is the sum over all combinations of taps of the product of their
 * weights times the input there. tf_crop_and_resize gives extrapolation_value outside the input.
 * Scales, sizes and roi must be compile-time constants (they fix the output shape).
 */
public final class Resize implements OpDef {
    /**
     * One axis: for output position o, input positions {@code index[o][t]} (already clamped into
     * the input) with weights {@code weight[o][t]}; {@code inside[o]} is false where the output
     * takes the extrapolation value instead.
     */
    public record Axis(int[][] index, double[][] weight, boolean[] inside) {
        /** True when output position o reads input position o with weight 1: the axis is not resized. */
        public boolean identity() {
            for (int o = 0; o < index.length; o++)
                if (!inside[o] || index[o].length != 1 || index[o][0] != o || weight[o][0] != 1) return false;
            return true;
        }
    }

    /** The output shape, each axis's taps and the value outside a crop. */
    public record Plan(Shape out, Axis[] axes, double extrapolation) {}

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 4);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X");
        return List.of(Ops.out(n, 0, x.dtype(), plan(n, x.shape(), inputs, consts).out()));
    }

    /** The plan for input shape {@code in}; {@code consts} holds the constant inputs (roi, scales, sizes). */
    public static Plan plan(Node n, Shape in, List<Value> inputs, List<Tensor> consts) {
        int r = in.rank();
        String mode = n.attrString("mode", "nearest");
        if (!List.of("nearest", "linear", "cubic").contains(mode))
            throw n.error("mode '" + mode + "' is not supported (nearest, linear, cubic)");
        if (n.attrInt("antialias", 0) != 0) throw n.error("antialias is not supported");
        String ctm, nearest;
        double[] scales = null, roi = null;
        long[] sizes = null;
        int[] axes = null;
        boolean upsample = n.op().equals("Upsample");
        if (upsample || n.opset() < 11) {
            // Resize-10 and Upsample: asymmetric coordinates; ONNX's reference rounds Resize-10's
            // nearest half down but repeats elements for Upsample (floor).
            if (upsample && n.opset() < 9) {
                float[] attr = n.attrFloats("scales", null);
                if (attr == null) throw n.error("missing required attribute 'scales'");
                scales = new double[attr.length];
                for (int i = 0; i < attr.length; i++) scales[i] = attr[i];
            } else {
                Ops.required(n, inputs, 1, "scales");
                scales = doubles(n, consts, 1, "scales");
            }
            ctm = "asymmetric";
            nearest = upsample ? "floor" : "round_prefer_floor";
        } else {
            ctm = n.attrString("coordinate_transformation_mode", "half_pixel");
            nearest = n.attrString("nearest_mode", "round_prefer_floor");
            if (n.attrInts("axes", null) != null) axes = Ops.axes(n, n.attrInts("axes", null), r, "axes");
            if (present(inputs, 2)) {
                scales = doubles(n, consts, 2, "scales");
                if (scales.length == 0) scales = null;
            }
            if (present(inputs, 3)) {
                sizes = Ops.constLongs(n, consts, 3, "sizes");
                if (sizes.length == 0) sizes = null;
            }
            if (ctm.equals("tf_crop_and_resize") && present(inputs, 1)) roi = doubles(n, consts, 1, "roi");
        }
        if (!List.of("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                "tf_half_pixel_for_nn", "tf_crop_and_resize").contains(ctm))
            throw n.error("coordinate_transformation_mode '" + ctm + "' is not supported");
        if (!List.of("round_prefer_floor", "round_prefer_ceil", "floor", "ceil").contains(nearest))
            throw n.error("nearest_mode '" + nearest + "' is not supported");
        if ((scales == null) == (sizes == null)) throw n.error("exactly one of the inputs scales and sizes must be given");
        if (axes == null) {
            axes = new int[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        int na = axes.length;
        if ((scales != null ? scales.length : sizes.length) != na)
            throw n.error((scales != null ? "scales " + Arrays.toString(scales) : "sizes " + Arrays.toString(sizes)) + " needs "
                    + na + " values, one per resized axis of " + in);
        if (roi != null && roi.length != 2 * na) throw n.error("roi " + Arrays.toString(roi) + " needs " + 2 * na + " values");

        double[] scale = new double[r];
        long[] out = in.longDims();
        Arrays.fill(scale, 1);
        if (scales != null) {
            for (int k = 0; k < na; k++) {
                if (!(scales[k] > 0)) throw n.error("scales " + Arrays.toString(scales) + " must be positive");
                scale[axes[k]] = scales[k];
                out[axes[k]] = (long) Math.floor(in.dim(axes[k]) * scales[k]);
            }
        } else {
            String policy = n.attrString("keep_aspect_ratio_policy", "stretch");
            if (policy.equals("stretch")) {
                for (int k = 0; k < na; k++) {
                    out[axes[k]] = sizes[k];
                    scale[axes[k]] = (double) sizes[k] / in.dim(axes[k]);
                }
            } else {
                boolean larger = policy.equals("not_smaller");
                if (!larger && !policy.equals("not_larger")) throw n.error("keep_aspect_ratio_policy '" + policy + "' is not supported");
                double s = larger ? 0 : Double.MAX_VALUE;
                for (int k = 0; k < na; k++) {
                    double sk = (double) sizes[k] / in.dim(axes[k]);
                    s = larger ? Math.max(s, sk) : Math.min(s, sk);
                }
                for (int k = 0; k < na; k++) {
                    scale[axes[k]] = s;
                    out[axes[k]] = (long) Math.rint(s * in.dim(axes[k]));
                }
            }
        }
        double cubicA = n.attrFloat("cubic_coeff_a", -0.75f);
        boolean exclude = n.attrInt("exclude_outside", 0) != 0;
        Axis[] plans = new Axis[r];
        for (int d = 0; d < r; d++) {
            double lo = 0, hi = 1;
            for (int k = 0; k < na; k++)
                if (axes[k] == d && roi != null) {
                    lo = roi[k];
                    hi = roi[k + na];
                }
            plans[d] = axis(in.dim(d), Math.toIntExact(out[d]), scale[d], lo, hi, mode, ctm, nearest, cubicA, exclude);
        }
        return new Plan(Shape.of(out), plans, n.attrFloat("extrapolation_value", 0f));
    }

    private static boolean present(List<Value> inputs, int i) {
        return Ops.optional(inputs, i) != null;
    }

    private static double[] doubles(Node n, List<Tensor> consts, int i, String role) {
        Tensor t = Ops.constant(consts, i);
        if (t == null)
            throw n.error("input " + role + " ('" + n.input(i) + "') must be a compile-time constant: it fixes the output shape");
        return TensorData.toDoubles(t);
    }

    private static Axis axis(int len, int outLen, double scale, double roiLo, double roiHi, String mode, String ctm,
            String nearest, double cubicA, boolean exclude) {
        int taps = switch (mode) {
            case "nearest" -> 1;
            case "linear" -> 2;
            default -> 4;
        };
        int[][] index = new int[outLen][taps];
        double[][] weight = new double[outLen][taps];
        boolean[] inside = new boolean[outLen];
        double outWidth = scale * len; // the reference uses the unrounded size
        for (int o = 0; o < outLen; o++) {
            double x = switch (ctm) {
                case "align_corners" -> outWidth == 1 ? 0 : o * (len - 1) / (outWidth - 1);
                case "asymmetric" -> o / scale;
                case "tf_crop_and_resize" -> (outWidth == 1 ? (roiHi - roiLo) * (len - 1) / 2
                        : o * (roiHi - roiLo) * (len - 1) / (outWidth - 1)) + roiLo * (len - 1);
                case "pytorch_half_pixel" -> outWidth == 1 ? -0.5 : (o + 0.5) / scale - 0.5;
                case "tf_half_pixel_for_nn" -> (o + 0.5) / scale;
                case "half_pixel_symmetric" -> {
                    double adjustment = outLen / outWidth, center = len / 2.0;
                    yield center * (1 - adjustment) + (o + 0.5) / scale - 0.5;
                }
                default -> (o + 0.5) / scale - 0.5;
            };
            inside[o] = !ctm.equals("tf_crop_and_resize") || (x >= 0 && x <= len - 1);
            // Taps start one below ceil(x): an integral x then sits on the last of the lower pair with ratio 1.
            int base = (int) Math.ceil(x) - 1;
            double ratio = x - base;
            double[] coeffs = switch (mode) {
                case "nearest" -> {
                    boolean up = ratio == 1 || switch (nearest) {
                        case "round_prefer_floor" -> ratio > 0.5;
                        case "round_prefer_ceil" -> ratio >= 0.5;
                        case "floor" -> false;
                        default -> true;
                    };
                    if (up) base++;
                    yield new double[] {1};
                }
                case "linear" -> new double[] {1 - ratio, ratio};
                default -> {
                    base--;
                    double a = cubicA, s = 1 - ratio;
                    yield new double[] {
                        ((a * (ratio + 1) - 5 * a) * (ratio + 1) + 8 * a) * (ratio + 1) - 4 * a,
                        ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
                        ((a + 2) * s - (a + 3)) * s * s + 1,
                        ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a};
                }
            };
            if (exclude) {
                double sum = 0;
                for (int t = 0; t < taps; t++) {
                    int i = base + t;
                    if (i < 0 || i >= len) coeffs[t] = 0;
                    sum += coeffs[t];
                }
                for (int t = 0; t < taps; t++) coeffs[t] /= sum;
            }
            for (int t = 0; t < taps; t++) {
                index[o][t] = Math.clamp(base + t, 0, len - 1);
                weight[o][t] = coeffs[t];
            }
        }
        return new Axis(index, weight, inside);
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor xt = inputs.get(0);
        Plan p = plan(n, xt.shape(), Ops.types(n, inputs), inputs);
        double[] x = TensorData.toDoubles(xt);
        int r = xt.shape().rank();
        long[] strides = xt.shape().strides();
        int total = Math.toIntExact(p.out().numel());
        double[] y = new double[total];
        int[] o = new int[r], t = new int[r];
        for (int flat = 0; flat < total; flat++) {
            int f = flat;
            for (int d = r - 1; d >= 0; d--) {
                o[d] = f % p.out().dim(d);
                f /= p.out().dim(d);
            }
            boolean inside = true;
            for (int d = 0; d < r; d++) inside &= p.axes()[d].inside()[o[d]];
            if (!inside) {
                y[flat] = p.extrapolation();
                continue;
            }
            // Sum over every combination of taps, innermost axis fastest.
            Arrays.fill(t, 0);
            double sum = 0;
            while (true) {
                double w = 1;
                long src = 0;
                for (int d = 0; d < r; d++) {
                    Axis a = p.axes()[d];
                    w *= a.weight()[o[d]][t[d]];
                    src += a.index()[o[d]][t[d]] * strides[d];
                }
                sum += w * x[(int) src];
                int d = r - 1;
                while (d >= 0 && ++t[d] == p.axes()[d].index()[o[d]].length) t[d--] = 0;
                if (d < 0) break;
            }
            y[flat] = sum;
        }
        return List.of(TensorData.fromDoubles(xt.dtype(), p.out(), y));
    }
}
