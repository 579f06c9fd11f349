package dev.kiln.autotune.model;

import java.util.List;

/** The measured rows of one tuning task: a feature vector and a throughput (0 or NaN when it failed) per trial. */
public record TaskSamples(List<double[]> features, List<Double> throughputs) {
    public TaskSamples {
        features = List.copyOf(features);
        throughputs = List.copyOf(throughputs);
        if (features.size() != throughputs.size())
            throw new IllegalArgumentException(features.size() + " feature rows but " + throughputs.size() + " throughputs");
    }

    /** Whether a measured throughput counts (a failure is 0, NaN, infinite or negative). */
    public static boolean valid(double throughput) {
        return Double.isFinite(throughput) && throughput > 0;
    }

    /** Throughputs divided by the task's best; failures are 0, and all are 0 when every trial failed. */
    public double[] normalized() {
        double best = 0;
        for (double v : throughputs) if (valid(v)) best = Math.max(best, v);
        double[] out = new double[throughputs.size()];
        for (int i = 0; i < out.length; i++) {
            double v = throughputs.get(i);
            out[i] = best > 0 && valid(v) ? v / best : 0;
        }
        return out;
    }
}
