package dev.kiln.frontend.quantize;

import dev.kiln.irhigh.KilnException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Finds each activation's range from its values over the calibration inputs. {@code minmax} takes the
 * extremes seen. {@code percentile} and {@code entropy} need a second pass over the same inputs
 * ({@link #needsSecondPass}), which fills a 2048-bin histogram per tensor between the extremes of the
 * first: percentile clips the range to the given percentile at each end; entropy (TensorRT's KL
 * calibration) picks the clipping threshold of |x| whose quantized distribution is nearest the
 * observed one in Kullback-Leibler divergence, with as many levels as the tensor gets on each side of 0
 * (256 for a tensor with no negative values, else 128).
 */
public final class Calibration {
    public enum Method {
        MINMAX, PERCENTILE, ENTROPY;

        public static Method parse(String s) {
            try {
                return valueOf(s.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new KilnException("--method " + s + ": expected minmax, percentile or entropy");
            }
        }
    }

    static final int BINS = 2048;

    private final Method method;
    private final double percentile;
    private final Map<String, float[]> extremes = new LinkedHashMap<>();
    private final Map<String, long[]> histograms = new LinkedHashMap<>();

    /** {@code percentile} (e.g. 99.999) is used by {@link Method#PERCENTILE} only. */
    public Calibration(Method method, double percentile) {
        if (!(percentile > 50 && percentile <= 100))
            throw new KilnException("--percentile " + percentile + ": expected a value above 50 and at most 100 (e.g. 99.999)");
        this.method = method;
        this.percentile = percentile;
    }

    public boolean needsSecondPass() {
        return method != Method.MINMAX;
    }

    /** First pass: the values of {@code tensor} for one calibration input. */
    public void observe(String tensor, float[] values) {
        float[] e = extremes.computeIfAbsent(tensor, k -> new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
        for (float v : values) {
            if (Float.isNaN(v) || Float.isInfinite(v))
                throw new KilnException("activation '" + tensor + "' holds " + v + " for a calibration input; the float model itself "
                        + "overflows on it, so no range can be calibrated: check the calibration data");
            e[0] = Math.min(e[0], v);
            e[1] = Math.max(e[1], v);
        }
    }

    /** Second pass: the same values again, counted into the histogram between the first pass's extremes. */
    public void histogram(String tensor, float[] values) {
        float[] e = extremes.get(tensor);
        if (e == null) throw new IllegalStateException("histogram of '" + tensor + "' before its first pass");
        long[] h = histograms.computeIfAbsent(tensor, k -> new long[BINS]);
        double lo = method == Method.ENTROPY ? 0 : e[0], hi = method == Method.ENTROPY ? Math.max(Math.abs(e[0]), Math.abs(e[1])) : e[1];
        double width = (hi - lo) / BINS;
        if (width <= 0) return;
        for (float v : values) {
            double x = method == Method.ENTROPY ? Math.abs(v) : v;
            h[(int) Math.min(BINS - 1, Math.max(0, (x - lo) / width))]++;
        }
    }

    /** Each tensor's {min, max}. */
    public Map<String, float[]> ranges() {
        Map<String, float[]> r = new LinkedHashMap<>();
        for (var e : extremes.entrySet()) {
            float[] x = e.getValue();
            long[] h = histograms.get(e.getKey());
            if (method == Method.MINMAX || h == null || x[0] == x[1]) r.put(e.getKey(), x.clone());
            else if (method == Method.PERCENTILE) r.put(e.getKey(), percentileRange(h, x[0], x[1], percentile));
            else {
                float t = entropyThreshold(h, Math.max(Math.abs(x[0]), Math.abs(x[1])), x[0] < 0 ? 128 : 256);
                r.put(e.getKey(), new float[] {Math.max(x[0], -t), Math.min(x[1], t)});
            }
        }
        return r;
    }

    /** The values at the {@code 100 - p} and {@code p} percentiles of a histogram over [lo, hi] (bin edges, outward). */
    static float[] percentileRange(long[] h, float lo, float hi, double p) {
        long total = 0;
        for (long c : h) total += c;
        double tail = total * (100 - p) / 100;
        double width = ((double) hi - lo) / h.length;
        int first = 0, last = h.length - 1;
        for (long seen = 0; first < h.length - 1 && seen + h[first] <= tail; first++) seen += h[first];
        for (long seen = 0; last > 0 && seen + h[last] <= tail; last--) seen += h[last];
        return new float[] {(float) (lo + first * width), (float) (lo + (last + 1) * width)};
    }

    /**
     * TensorRT's KL-divergence threshold on a histogram of |x| over [0, absMax]: for each candidate number
     * of bins i (from {@code levels} up), P is the first i bins with everything beyond added to the last,
     * Q the first i bins merged into {@code levels} groups and spread back evenly over each group's
     * non-empty bins; the i with the least KL(P || Q) gives the threshold, the upper edge of bin i.
     */
    static float entropyThreshold(long[] h, float absMax, int levels) {
        int n = h.length;
        double width = absMax / (double) n;
        double best = Double.POSITIVE_INFINITY;
        int bestI = n;
        long beyond = 0;
        for (int k = levels; k < n; k++) beyond += h[k];
        for (int i = levels; i <= n; i++) {
            if (i > levels) beyond -= h[i - 1];
            double[] p = new double[i];
            for (int k = 0; k < i; k++) p[k] = h[k];
            p[i - 1] += beyond;
            double[] q = new double[i];
            for (int j = 0; j < levels; j++) {
                int start = (int) ((long) j * i / levels), end = (int) ((long) (j + 1) * i / levels);
                double sum = 0;
                int nonZero = 0;
                for (int k = start; k < end; k++) {
                    sum += h[k];
                    if (h[k] != 0) nonZero++;
                }
                for (int k = start; k < end; k++) q[k] = h[k] != 0 ? sum / nonZero : 0;
            }
            double kl = divergence(p, q);
            if (kl < best) {
                best = kl;
                bestI = i;
            }
        }
        return (float) (bestI * width);
    }

    /** KL(P || Q) of the two histograms, each normalized; a bin Q leaves empty where P is not is smoothed to a tiny mass. */
    private static double divergence(double[] p, double[] q) {
        double sp = 0, sq = 0;
        for (int k = 0; k < p.length; k++) {
            sp += p[k];
            sq += q[k];
        }
        if (sp == 0) return 0;
        double kl = 0;
        for (int k = 0; k < p.length; k++) {
            if (p[k] == 0) continue;
            double pk = p[k] / sp, qk = sq == 0 ? 0 : q[k] / sq;
            kl += pk * Math.log(pk / Math.max(qk, 1e-12));
        }
        return kl;
    }
}
