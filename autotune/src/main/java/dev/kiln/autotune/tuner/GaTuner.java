package dev.kiln.autotune.tuner;

import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knob;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A genetic algorithm (AutoTVM's GATuner): until {@code population} configs have been measured
 * it proposes random ones; then each child crosses two parents knob by knob and mutates with
 * probability {@code mutation}. Parents are the best {@code population} configs measured so far
 * (elitism: a good config stays a parent until better ones replace it), drawn in proportion to
 * their throughput. A child already seen is mutated again, and after a few tries replaced by a
 * random unseen config.
 */
public final class GaTuner implements Tuner {
    private static final int RETRIES = 32;

    private final SearchState state;
    private final Random rng;
    private final int population;
    private final double mutation;

    public GaTuner(ConfigSpace space, long seed) {
        this(space, seed, 32, 0.3);
    }

    public GaTuner(ConfigSpace space, long seed, int population, double mutation) {
        if (population < 2) throw new IllegalArgumentException("GA population must be at least 2, got " + population);
        this.rng = new Random(seed);
        this.state = new SearchState(space, rng);
        this.population = population;
        this.mutation = mutation;
    }

    @Override
    public List<Config> next(int n) {
        List<SearchState.Measured> parents = state.best(population);
        List<Config> out = new ArrayList<>();
        while (out.size() < n) {
            Config c = parents.size() < population ? null : breed(parents);
            if (c == null) c = state.claimRandom();
            if (c == null) break;
            out.add(c);
        }
        return out;
    }

    /** A claimed child of two parents, or null when the tries all gave configs already seen. */
    private Config breed(List<SearchState.Measured> parents) {
        ConfigSpace space = state.space();
        Config a = pick(parents), b = pick(parents);
        Config child = a;
        for (Knob k : space.knobs()) if (rng.nextBoolean()) child = child.with(k.name(), b.get(k.name()));
        if (rng.nextDouble() < mutation) child = space.mutate(child, rng);
        for (int t = 0; t < RETRIES; t++) {
            if (state.claim(child)) return child;
            child = space.mutate(child, rng);
        }
        return null;
    }

    private Config pick(List<SearchState.Measured> parents) {
        double total = 0;
        for (SearchState.Measured m : parents) total += m.throughput();
        double r = rng.nextDouble() * total;
        for (SearchState.Measured m : parents) if ((r -= m.throughput()) <= 0) return m.config();
        return parents.getLast().config();
    }

    @Override
    public void update(List<Config> configs, List<Double> throughputs) {
        state.record(configs, throughputs);
    }

    @Override
    public boolean hasNext() {
        return !state.exhausted();
    }
}
