package dev.kiln.autotune.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Predicts how fast a candidate runs from its features, so a tuner can rank thousands of
 * candidates for the price of measuring a few. Only the order of predictions matters; they are
 * on the scale of throughput normalized by the best measured (1 = as good as the best so far).
 */
public interface CostModel {
    /** Trains on one task's rows: features and measured throughput (0 or NaN for a failed build or run). */
    void fit(List<double[]> x, List<Double> throughput);

    /**
     * Trains on rows of several tasks (transfer learning): each task's throughputs are normalized
     * by that task's best, so fast and slow kernels weigh alike.
     */
    default void fitTasks(List<TaskSamples> tasks) {
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (TaskSamples t : tasks) {
            x.addAll(t.features());
            for (double v : t.normalized()) y.add(v);
        }
        fit(x, y);
    }

    double predict(double[] x);

    default double[] predict(List<double[]> xs) {
        double[] out = new double[xs.size()];
        for (int i = 0; i < out.length; i++) out[i] = predict(xs.get(i));
        return out;
    }
}
