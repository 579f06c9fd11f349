package dev.kiln.autotune.tuner;

import dev.kiln.autotune.model.TaskSamples;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * What every tuner keeps: the configs proposed or measured (by space index, so none repeats),
 * the measurements in order, and a random source of configs not yet seen.
 */
public final class SearchState {
    /** One measured config. */
    public record Measured(Config config, double throughput) {}

    private final ConfigSpace space;
    private final Set<Long> seen = new HashSet<>();
    private final List<Measured> measured = new ArrayList<>();
    private final RandomOrder order;

    public SearchState(ConfigSpace space, Random rng) {
        this.space = space;
        this.order = new RandomOrder(space.size(), rng);
    }

    public ConfigSpace space() {
        return space;
    }

    public boolean seen(Config c) {
        return seen.contains(space.indexOf(c));
    }

    /** Marks {@code c} proposed; false when it already was (or was measured). */
    public boolean claim(Config c) {
        return seen.add(space.indexOf(c));
    }

    public boolean exhausted() {
        return seen.size() >= space.size();
    }

    /** A config drawn uniformly from those not yet seen, claimed; null when none is left. */
    public Config claimRandom() {
        while (order.hasNext()) {
            Config c = space.get(order.next());
            if (claim(c)) return c;
        }
        return null;
    }

    /** Records results (claiming configs that came from elsewhere, such as an earlier session's records). */
    public void record(List<Config> configs, List<Double> throughputs) {
        if (configs.size() != throughputs.size())
            throw new IllegalArgumentException(configs.size() + " configs but " + throughputs.size() + " throughputs");
        for (int i = 0; i < configs.size(); i++) {
            space.check(configs.get(i));
            claim(configs.get(i));
            Double t = throughputs.get(i);
            measured.add(new Measured(configs.get(i), t == null || !TaskSamples.valid(t) ? 0 : t));
        }
    }

    /** Every measurement so far, in order (failures as 0). */
    public List<Measured> measured() {
        return measured;
    }

    /** The {@code k} best measured configs that did not fail, best first. */
    public List<Measured> best(int k) {
        return measured.stream().filter(m -> m.throughput() > 0)
                .sorted(Comparator.comparingDouble(Measured::throughput).reversed()).limit(k).toList();
    }

    public int validCount() {
        return (int) measured.stream().filter(m -> m.throughput() > 0).count();
    }
}
