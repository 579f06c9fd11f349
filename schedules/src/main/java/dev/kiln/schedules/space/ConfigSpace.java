package dev.kiln.schedules.space;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The knobs a kernel's schedule templates declare, in declaration order: the space a tuner
 * searches. Points are numbered in mixed radix (the last knob varies fastest), so a grid search is
 * a walk over {@code 0..size()-1} and a config is stored as its knob values.
 */
public record ConfigSpace(List<Knob> knobs) {
    public ConfigSpace {
        knobs = List.copyOf(knobs);
        Set<String> names = new HashSet<>();
        for (Knob k : knobs) if (!names.add(k.name())) throw new IllegalArgumentException("two knobs named " + k.name());
    }

    public static final ConfigSpace EMPTY = new ConfigSpace(List.of());

    /** Number of points (saturates at Long.MAX_VALUE). */
    public long size() {
        BigInteger n = BigInteger.ONE;
        for (Knob k : knobs) n = n.multiply(BigInteger.valueOf(k.values().size()));
        return n.bitLength() < 63 ? n.longValue() : Long.MAX_VALUE;
    }

    public Knob knob(String name) {
        for (Knob k : knobs) if (k.name().equals(name)) return k;
        throw new IllegalArgumentException("no knob " + name + " in this space; its knobs are " + knobs.stream().map(Knob::name).toList());
    }

    /** Every knob at its heuristic default: what an untuned compile uses. */
    public Config defaults() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Knob k : knobs) m.put(k.name(), k.defaultValue());
        return new Config(m);
    }

    /** The point numbered {@code index} (0 <= index < size()). */
    public Config get(long index) {
        if (index < 0 || index >= size()) throw new IndexOutOfBoundsException("config index " + index + " outside 0.." + (size() - 1));
        Map<String, Long> m = new LinkedHashMap<>();
        long[] picks = new long[knobs.size()];
        for (int i = knobs.size() - 1; i >= 0; i--) {
            int n = knobs.get(i).values().size();
            picks[i] = index % n;
            index /= n;
        }
        for (int i = 0; i < knobs.size(); i++) m.put(knobs.get(i).name(), knobs.get(i).values().get((int) picks[i]));
        return new Config(m);
    }

    /** The number of {@code c} in this space; throws naming the knob when c is not a point of it. */
    public long indexOf(Config c) {
        check(c);
        long index = 0;
        for (Knob k : knobs) index = index * k.values().size() + k.indexOf(c.get(k.name()));
        return index;
    }

    /** A point drawn uniformly. */
    public Config random(Random rng) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Knob k : knobs) m.put(k.name(), k.values().get(rng.nextInt(k.values().size())));
        return new Config(m);
    }

    /** {@code c} with one randomly chosen knob set to another of its values (c itself when no knob has two). */
    public Config mutate(Config c, Random rng) {
        List<Knob> free = new ArrayList<>();
        for (Knob k : knobs) if (k.values().size() > 1) free.add(k);
        if (free.isEmpty()) return c;
        Knob k = free.get(rng.nextInt(free.size()));
        List<Long> others = new ArrayList<>(k.values());
        others.remove(Long.valueOf(c.get(k.name())));
        return c.with(k.name(), others.get(rng.nextInt(others.size())));
    }

    /** Throws a message naming the first knob {@code c} lacks, has extra, or sets outside its values. */
    public void check(Config c) {
        for (Knob k : knobs) {
            if (!c.has(k.name())) throw new IllegalArgumentException("config " + c + " has no value for knob " + k.name());
            if (k.indexOf(c.get(k.name())) < 0)
                throw new IllegalArgumentException("config " + c + ": knob " + k.name() + " = " + c.get(k.name()) + " is not one of " + k.values());
        }
        for (String n : c.values().keySet()) {
            boolean known = false;
            for (Knob k : knobs) known |= k.name().equals(n);
            if (!known) throw new IllegalArgumentException("config " + c + " sets " + n + ", which is not a knob of this space");
        }
    }
}
