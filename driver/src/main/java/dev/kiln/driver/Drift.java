package dev.kiln.driver;

import dev.kiln.irhigh.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * How far a cheaper model's float outputs are from the reference's on the same inputs: the largest
 * and mean absolute error of each output, its reference range, and for an output shaped
 * {@code [N, classes]} on how many rows the top-1 class agrees. {@code kiln quantize} (the QDQ model
 * against the float one, both in ONNX Runtime) and {@code kiln compile --precision bf16} (the bf16
 * library against the float model in ONNX Runtime) report it the same way.
 */
record Drift(String output, String shape, double maxAbs, double meanAbs, double refMin, double refMax, int top1Agree, int top1Total) {

    /** Runs both on every sample and compares the outputs named {@code names} (non-float ones are skipped). */
    static List<Drift> measure(List<String> names, Function<Map<String, Tensor>, Map<String, Tensor>> reference,
                               Function<Map<String, Tensor>, Map<String, Tensor>> candidate, List<Map<String, Tensor>> samples) {
        double[] max = new double[names.size()], sum = new double[names.size()], lo = new double[names.size()], hi = new double[names.size()];
        long[] count = new long[names.size()];
        int[] agree = new int[names.size()], total = new int[names.size()];
        String[] shape = new String[names.size()];
        Arrays.fill(lo, Double.POSITIVE_INFINITY);
        Arrays.fill(hi, Double.NEGATIVE_INFINITY);
        for (Map<String, Tensor> s : samples) {
            Map<String, Tensor> a = reference.apply(s), b = candidate.apply(s);
            for (int k = 0; k < names.size(); k++) {
                Tensor x = a.get(names.get(k)), y = b.get(names.get(k));
                shape[k] = x.dtype().numpyName + x.shape();
                if (!x.dtype().isFloat()) continue;
                for (int i = 0; i < x.size(); i++) {
                    double d = Math.abs(x.getDouble(i) - y.getDouble(i));
                    max[k] = Math.max(max[k], Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
                    sum[k] += d;
                    lo[k] = Math.min(lo[k], x.getDouble(i));
                    hi[k] = Math.max(hi[k], x.getDouble(i));
                }
                count[k] += x.size();
                long[] dims = x.shape().longDims();
                if (dims.length == 2 && dims[1] > 1) {
                    int classes = (int) dims[1];
                    for (int row = 0; row < dims[0]; row++) {
                        if (argmax(x, row * classes, classes) == argmax(y, row * classes, classes)) agree[k]++;
                        total[k]++;
                    }
                }
            }
        }
        List<Drift> r = new ArrayList<>();
        for (int k = 0; k < names.size(); k++) {
            if (count[k] == 0) continue;
            r.add(new Drift(names.get(k), shape[k], max[k], sum[k] / count[k], lo[k], hi[k], agree[k], total[k]));
        }
        return r;
    }

    /** One line per output, after {@code heading}. */
    static void print(String heading, List<Drift> drift, Consumer<String> print) {
        print.accept(heading);
        for (Drift d : drift) {
            print.accept(String.format("  '%s' %s: max abs error %.4g, mean abs error %.4g (float outputs in [%.4g, %.4g])%s", d.output(), d.shape(),
                    d.maxAbs(), d.meanAbs(), d.refMin(), d.refMax(),
                    d.top1Total() > 0 ? String.format("; top-1 agrees on %d of %d", d.top1Agree(), d.top1Total()) : ""));
        }
    }

    private static int argmax(Tensor t, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (t.getDouble(from + i) > t.getDouble(from + best)) best = i;
        return best;
    }
}
