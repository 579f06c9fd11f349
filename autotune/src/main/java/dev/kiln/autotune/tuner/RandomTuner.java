package dev.kiln.autotune.tuner;

import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Proposes configs uniformly at random without repeats: the baseline every other tuner must beat. */
public final class RandomTuner implements Tuner {
    private final SearchState state;

    public RandomTuner(ConfigSpace space, long seed) {
        this.state = new SearchState(space, new Random(seed));
    }

    @Override
    public List<Config> next(int n) {
        List<Config> out = new ArrayList<>();
        for (Config c; out.size() < n && (c = state.claimRandom()) != null; ) out.add(c);
        return out;
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
