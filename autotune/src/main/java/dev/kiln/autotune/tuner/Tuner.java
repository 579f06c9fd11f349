package dev.kiln.autotune.tuner;

import dev.kiln.schedules.space.Config;
import java.util.List;

/**
 * Searches one task's config space: proposes configs to measure and learns from the results.
 * A tuner never proposes a config twice, nor one it was told the result of.
 */
public interface Tuner {
    /** Up to {@code n} configs to measure next; fewer (possibly none) when the space runs out. */
    List<Config> next(int n);

    /** The measured throughputs of {@code configs} (0 or NaN where building or running failed). */
    void update(List<Config> configs, List<Double> throughputs);

    /** Whether any config of the space is left unproposed. */
    boolean hasNext();
}
