package dev.kiln.autotune.model;

import java.util.List;
import smile.data.DataFrame;
import smile.data.Tuple;
import smile.data.formula.Formula;
import smile.data.type.StructType;
import smile.model.cart.Loss;
import smile.regression.GradientTreeBoost;

/**
 * The cost model AutoTVM made standard: gradient-boosted regression trees (Smile's
 * GradientTreeBoost with least-squares loss) on normalized throughput. With fewer than
 * {@link #MIN_ROWS} rows, or rows that all score the same, it predicts a constant, which leaves a
 * model-based tuner free to explore. Rows of different lengths (tasks with different knobs) are
 * padded with zeros to the longest.
 */
public final class GbtCostModel implements CostModel {
    /** Fewer rows than this do not say enough to rank candidates. */
    public static final int MIN_ROWS = 8;

    /** Boosting settings; see Smile's {@code GradientTreeBoost.Options}. */
    public record Options(int trees, int maxDepth, int maxLeaves, int minLeafSize, double shrinkage) {
        /** Sized for tuning logs of tens to thousands of rows; no row subsampling, so training is deterministic. */
        public static final Options DEFAULT = new Options(150, 6, 32, 2, 0.1);
    }

    private final Options options;
    private GradientTreeBoost model;
    private StructType schema;
    private int width;
    private double constant;

    public GbtCostModel() {
        this(Options.DEFAULT);
    }

    public GbtCostModel(Options options) {
        this.options = options;
    }

    /** Whether the last fit trained trees (else predictions are a constant). */
    public boolean trained() {
        return model != null;
    }

    @Override
    public void fit(List<double[]> x, List<Double> throughput) {
        double[] y = new TaskSamples(x, throughput).normalized();
        model = null;
        schema = null;
        width = 0;
        for (double[] row : x) width = Math.max(width, row.length);
        double sum = 0, lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double v : y) {
            sum += v;
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        constant = y.length == 0 ? 0 : sum / y.length;
        if (y.length < MIN_ROWS || lo == hi || width == 0) return;

        double[][] data = new double[y.length][];
        for (int i = 0; i < y.length; i++) {
            data[i] = row(x.get(i));
            data[i][width] = y[i];
        }
        String[] names = new String[width + 1];
        for (int j = 0; j < width; j++) names[j] = "x" + j;
        names[width] = "y";
        DataFrame df = DataFrame.of(data, names);
        model = GradientTreeBoost.fit(Formula.lhs("y"), df, new GradientTreeBoost.Options(Loss.ls(), options.trees(),
                options.maxDepth(), options.maxLeaves(), options.minLeafSize(), options.shrinkage(), 1.0, null, null));
        schema = df.schema();
    }

    @Override
    public double predict(double[] x) {
        if (model == null) return constant;
        return model.predict(Tuple.of(schema, row(x)));
    }

    /** {@code x} padded or cut to the trained width, with a slot for the target. */
    private double[] row(double[] x) {
        double[] r = new double[width + 1];
        System.arraycopy(x, 0, r, 0, Math.min(x.length, width));
        return r;
    }
}
