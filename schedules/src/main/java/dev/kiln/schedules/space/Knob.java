package dev.kiln.schedules.space;

import java.util.List;

/**
 * One tunable decision of a schedule template: a name ({@code 0.tile_rows}), the values it may
 * take, and the heuristic default. Values are integers; a categorical knob (a loop order, a
 * packing choice) numbers its alternatives {@code 0..n-1} and names them in {@code labels}.
 */
public record Knob(String name, List<Long> values, long defaultValue, List<String> labels) {
    public Knob {
        if (name == null || name.isEmpty() || name.chars().anyMatch(c -> Character.isWhitespace(c) || c == '=' || c == ','))
            throw new IllegalArgumentException("knob name '" + name + "' is empty or holds a space, '=' or ','");
        values = List.copyOf(values);
        labels = List.copyOf(labels);
        if (values.isEmpty()) throw new IllegalArgumentException("knob " + name + " has no values");
        if (values.stream().distinct().count() != values.size()) throw new IllegalArgumentException("knob " + name + " repeats a value: " + values);
        if (!values.contains(defaultValue))
            throw new IllegalArgumentException("knob " + name + ": default " + defaultValue + " is not one of " + values);
        if (!labels.isEmpty() && labels.size() != values.size())
            throw new IllegalArgumentException("knob " + name + " has " + values.size() + " values but " + labels.size() + " labels");
    }

    /** A numeric knob (tile size, unroll depth, vector width). */
    public static Knob of(String name, List<Long> values, long defaultValue) {
        return new Knob(name, values, defaultValue, List.of());
    }

    /** A categorical knob: value i stands for {@code labels.get(i)}. */
    public static Knob categorical(String name, List<String> labels, int defaultIndex) {
        return new Knob(name, java.util.stream.LongStream.range(0, labels.size()).boxed().toList(), defaultIndex, labels);
    }

    /** Position of {@code value} among the values, or -1. */
    public int indexOf(long value) {
        return values.indexOf(value);
    }

    /** How a value prints: its label for a categorical knob, else the number. */
    public String show(long value) {
        int i = indexOf(value);
        return labels.isEmpty() || i < 0 ? Long.toString(value) : labels.get(i);
    }
}
