package dev.kiln.autotune.model;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GbtCostModelTest {
    /** A smooth bump with one optimum, an interaction and an irrelevant feature (x4). */
    static double truth(double[] x) {
        double d = Math.pow(x[0] - 0.3, 2) + Math.pow(x[1] - 0.6, 2);
        return Math.exp(-4 * d) * (1 + 0.5 * x[2] * x[3]) + 0.05;
    }

    static List<double[]> points(int n, Random r) {
        List<double[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new double[] {r.nextDouble(), r.nextDouble(), r.nextDouble(), r.nextDouble(), r.nextDouble()});
        return out;
    }

    /** Spearman's rank correlation (no ties in continuous data). */
    static double spearman(double[] a, double[] b) {
        double[] ra = ranks(a), rb = ranks(b);
        double n = a.length, d2 = 0;
        for (int i = 0; i < a.length; i++) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
        return 1 - 6 * d2 / (n * (n * n - 1));
    }

    static double[] ranks(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) idx[i] = i;
        Arrays.sort(idx, (p, q) -> Double.compare(v[p], v[q]));
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[idx[i]] = i;
        return r;
    }

    @Test
    void learnsASyntheticFunction() {
        Random r = new Random(1);
        List<double[]> train = points(300, r), test = points(200, r);
        List<Double> y = train.stream().map(x -> truth(x) * (1 + 0.05 * r.nextGaussian())).toList();
        GbtCostModel m = new GbtCostModel();
        m.fit(train, y);
        assertTrue(m.trained());
        double[] want = test.stream().mapToDouble(GbtCostModelTest::truth).toArray();
        double rho = spearman(m.predict(test), want);
        assertTrue(rho > 0.8, "rank correlation on held-out points " + rho);
    }

    @Test
    void transferNormalizesEachTaskByItsOwnBest() {
        Random r = new Random(2);
        List<double[]> xa = points(150, r), xb = points(150, r), test = points(200, r);
        // Task b runs the same shape of function 1000x faster; unnormalized, its rows would swamp a's.
        List<Double> ya = xa.stream().map(GbtCostModelTest::truth).toList();
        List<Double> yb = xb.stream().map(x -> 1000 * truth(x)).toList();
        GbtCostModel m = new GbtCostModel();
        m.fitTasks(List.of(new TaskSamples(xa, ya), new TaskSamples(xb, yb)));
        double[] p = m.predict(test);
        double best = Arrays.stream(ya.stream().mapToDouble(Double::doubleValue).toArray()).max().orElseThrow();
        for (int i = 0; i < p.length; i++) assertTrue(p[i] < 1.5, "prediction " + p[i] + " is not on the normalized scale");
        assertTrue(spearman(p, test.stream().mapToDouble(x -> truth(x) / best).toArray()) > 0.8);
    }

    @Test
    void tinyOrFlatTrainingSetsPredictAConstant() {
        Random r = new Random(3);
        List<double[]> x = points(5, r);
        GbtCostModel m = new GbtCostModel();
        m.fit(x, List.of(1.0, 2.0, 3.0, 4.0, 5.0));
        assertFalse(m.trained());
        assertEquals(m.predict(points(1, r).getFirst()), m.predict(points(1, r).getFirst()));
        m.fit(points(20, r), java.util.Collections.nCopies(20, Double.NaN));
        assertFalse(m.trained(), "every trial failed: nothing to learn");
        assertEquals(0, m.predict(x.getFirst()));
    }

    @Test
    void failuresNormalizeToZero() {
        TaskSamples t = new TaskSamples(List.of(new double[1], new double[1], new double[1], new double[1]),
                List.of(2.0, Double.NaN, 0.0, 4.0));
        assertArrayEquals(new double[] {0.5, 0, 0, 1}, t.normalized());
    }
}
