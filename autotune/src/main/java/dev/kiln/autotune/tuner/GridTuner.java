package dev.kiln.autotune.tuner;

import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Walks the space in index order (the last knob fastest), skipping configs already measured. */
public final class GridTuner implements Tuner {
    private final SearchState state;
    private long cursor;

    public GridTuner(ConfigSpace space) {
        this.state = new SearchState(space, new Random(0));
    }

    @Override
    public List<Config> next(int n) {
        List<Config> out = new ArrayList<>();
        long size = state.space().size();
        while (out.size() < n && cursor < size) {
            Config c = state.space().get(cursor++);
            if (state.claim(c)) out.add(c);
        }
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
