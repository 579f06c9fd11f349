package dev.kiln.schedules.space;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a schedule template asks for its decisions (AutoTVM's {@code cfg.define_split}): each call
 * of {@link #choose} declares a knob and returns its value, the default when scheduling untuned,
 * the config's value when replaying a tuned one. One code path therefore both declares a
 * template's space and applies any point of it.
 *
 * <p>Rule for templates: the knobs declared (names and values) may depend only on the workload
 * (shapes, dtypes, target), never on the value of another knob, so every point of the space
 * declares the same knobs. A template whose decision depends on another can list the
 * combinations as the values of one knob.
 */
public final class Knobs {
    private final Config config;
    private final String prefix;
    private final Shared shared;

    private static final class Shared {
        final List<Knob> declared = new ArrayList<>();
        final Map<String, Long> chosen = new LinkedHashMap<>();
    }

    private Knobs(Config config, String prefix, Shared shared) {
        this.config = config;
        this.prefix = prefix;
        this.shared = shared;
    }

    /** Every knob at its default. */
    public static Knobs defaults() {
        return new Knobs(null, "", new Shared());
    }

    /** Every knob at its value in {@code config}; a knob the config lacks is an error. */
    public static Knobs of(Config config) {
        return new Knobs(config, "", new Shared());
    }

    /** The same knobs with names prefixed {@code scope.}: one compute of a kernel. */
    public Knobs scope(String scope) {
        return new Knobs(config, prefix + scope + ".", shared);
    }

    /** Declares knob {@code name} over {@code values} and returns its value. */
    public long choose(String name, List<Long> values, long defaultValue) {
        return declare(Knob.of(prefix + name, values, defaultValue));
    }

    /** A categorical knob; returns the index of the chosen label. */
    public int chooseOne(String name, List<String> labels, int defaultIndex) {
        return (int) declare(Knob.categorical(prefix + name, labels, defaultIndex));
    }

    /** A yes/no knob. */
    public boolean flag(String name, boolean defaultValue) {
        return chooseOne(name, List.of("no", "yes"), defaultValue ? 1 : 0) == 1;
    }

    private long declare(Knob k) {
        for (Knob d : shared.declared)
            if (d.name().equals(k.name())) throw new IllegalStateException("template declared knob " + k.name() + " twice");
        shared.declared.add(k);
        long v = k.defaultValue();
        if (config != null) {
            if (!config.has(k.name()))
                throw new IllegalArgumentException("config " + config + " has no value for knob " + k.name() + " (a record of another Kiln version?)");
            v = config.get(k.name());
            if (k.indexOf(v) < 0)
                throw new IllegalArgumentException("config " + config + ": knob " + k.name() + " = " + v + " is not one of " + k.values());
        }
        shared.chosen.put(k.name(), v);
        return v;
    }

    /** The knobs declared so far, in order. */
    public ConfigSpace space() {
        return new ConfigSpace(shared.declared);
    }

    /** The values chosen so far. */
    public Config config() {
        return new Config(shared.chosen);
    }
}
