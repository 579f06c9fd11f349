package dev.kiln.autotune.tuner;

import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.autotune.features.FeatureExtractor;
import dev.kiln.autotune.model.GbtCostModel;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knob;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class TunerTest {
    static final ConfigSpace SMALL = new ConfigSpace(List.of(Knob.of("a", List.of(1L, 2L, 4L), 1),
            Knob.categorical("b", List.of("x", "y", "z", "w"), 0), Knob.of("c", List.of(8L, 16L), 8)));

    static List<Long> pow2(int n) {
        List<Long> v = new ArrayList<>();
        for (int i = 0; i < n; i++) v.add(1L << i);
        return v;
    }

    /** 8 x 8 x 8 x 4 = 2048 configs: tile sizes and an unroll depth, say. */
    static final ConfigSpace SPACE = new ConfigSpace(List.of(Knob.of("tx", pow2(8), 1), Knob.of("ty", pow2(8), 1),
            Knob.of("tk", pow2(8), 1), Knob.of("unroll", pow2(4), 1)));

    static double log2(long v) {
        return 63 - Long.numberOfLeadingZeros(v);
    }

    /** A smooth throughput with a single optimum at tx=32, ty=4, tk=8, unroll=2 (value 1); tx*ty > 1024 fails to build. */
    static double truth(Config c) {
        double a = log2(c.get("tx")), b = log2(c.get("ty")), k = log2(c.get("tk")), u = log2(c.get("unroll"));
        if (c.get("tx") * c.get("ty") > 1024) return Double.NaN;
        return Math.exp(-((a - 5) * (a - 5) / 6 + (b - 2) * (b - 2) / 6 + (k - 3) * (k - 3) / 10 + (u - 1) * (u - 1) / 3));
    }

    static Function<Config, double[]> knobs(ConfigSpace space) {
        return c -> FeatureExtractor.knobFeatures(space, c);
    }

    static ModelBasedTuner xgb(ConfigSpace space, long seed) {
        return new ModelBasedTuner(space, knobs(space), new GbtCostModel(), seed, List.of(),
                new ModelBasedTuner.Options(32, 0.15, 32, 60, 0.5, 8));
    }

    /**
     * Runs {@code tuner} for {@code budget} trials in batches, measuring with 3 % seeded noise;
     * returns the true throughput of the best measured config after each trial.
     */
    static double[] tune(Tuner tuner, int budget, int batch, long noiseSeed) {
        Random noise = new Random(noiseSeed);
        double[] curve = new double[budget];
        double best = 0;
        Set<Config> proposed = new HashSet<>();
        int t = 0;
        while (t < budget && tuner.hasNext()) {
            List<Config> cs = tuner.next(Math.min(batch, budget - t));
            assertFalse(cs.isEmpty(), "hasNext but no config");
            List<Double> ys = new ArrayList<>();
            for (Config c : cs) {
                assertTrue(proposed.add(c), "proposed twice: " + c);
                double y = truth(c);
                ys.add(Double.isNaN(y) ? y : y * (1 + 0.03 * noise.nextGaussian()));
                // The tuner picks by measured (noisy) throughput; we judge by the true one.
                if (!Double.isNaN(y)) best = Math.max(best, y);
                curve[t++] = best;
            }
            tuner.update(cs, ys);
        }
        return curve;
    }

    static void exhaustsExactlyOnce(Tuner tuner) {
        List<Config> all = new ArrayList<>();
        Random r = new Random(5);
        while (tuner.hasNext()) {
            List<Config> cs = tuner.next(5);
            assertFalse(cs.isEmpty(), "hasNext but no config after " + all.size());
            all.addAll(cs);
            List<Double> ys = new ArrayList<>();
            for (Config c : cs) ys.add(r.nextInt(4) == 0 ? Double.NaN : 1 + r.nextDouble());
            tuner.update(cs, ys);
        }
        assertEquals(SMALL.size(), all.size());
        assertEquals(SMALL.size(), new HashSet<>(all).size(), "a config was proposed twice");
        for (Config c : all) SMALL.check(c);
        assertEquals(List.of(), tuner.next(3));
    }

    @Test
    void everyTunerExhaustsASmallSpaceExactlyOnce() {
        exhaustsExactlyOnce(new RandomTuner(SMALL, 1));
        exhaustsExactlyOnce(new GridTuner(SMALL));
        exhaustsExactlyOnce(new GaTuner(SMALL, 1, 4, 0.3));
        exhaustsExactlyOnce(xgb(SMALL, 1));
    }

    @Test
    void gridWalksIndexOrderAndSkipsWhatWasMeasured() {
        GridTuner g = new GridTuner(SMALL);
        g.update(List.of(SMALL.get(1)), List.of(1.0)); // e.g. a record from an earlier session
        assertEquals(List.of(SMALL.get(0), SMALL.get(2), SMALL.get(3)), g.next(3));
    }

    @Test
    void randomTunerIsSeeded() {
        assertEquals(new RandomTuner(SPACE, 9).next(20), new RandomTuner(SPACE, 9).next(20));
        assertNotEquals(new RandomTuner(SPACE, 9).next(20), new RandomTuner(SPACE, 10).next(20));
    }

    @Test
    void guidedTunersFindTheOptimumFasterThanRandom() {
        int budget = 256, batch = 16; // an eighth of the space
        long[] seeds = {1, 2, 3};
        double random = 0, ga = 0, model = 0;
        for (long s : seeds) {
            double[] r = tune(new RandomTuner(SPACE, s), budget, batch, s);
            double[] g = tune(new GaTuner(SPACE, s, 16, 0.3), budget, batch, s);
            double[] m = tune(xgb(SPACE, s), budget, batch, s);
            random += r[budget - 1] / seeds.length;
            ga += g[budget - 1] / seeds.length;
            model += m[budget - 1] / seeds.length;
            assertTrue(m[budget - 1] >= 0.9, "seed " + s + ": model-based tuner's best is " + m[budget - 1] + " of the optimum");
            assertTrue(g[budget - 1] >= 0.9, "seed " + s + ": GA's best is " + g[budget - 1] + " of the optimum");
        }
        assertTrue(model > random, "model-based " + model + " vs random " + random);
        assertTrue(ga > random, "GA " + ga + " vs random " + random);
    }
}
