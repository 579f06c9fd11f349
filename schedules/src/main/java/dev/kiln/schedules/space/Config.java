package dev.kiln.schedules.space;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One point of a {@link ConfigSpace}: a value for each knob, in the space's knob order. Prints as
 * {@code name=value,name=value} (the form stored in tuning records) and parses back.
 */
public record Config(Map<String, Long> values) {
    public Config {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public long get(String knob) {
        Long v = values.get(knob);
        if (v == null) throw new IllegalArgumentException("config " + this + " has no knob " + knob);
        return v;
    }

    public boolean has(String knob) {
        return values.containsKey(knob);
    }

    /** A copy with one knob changed. */
    public Config with(String knob, long value) {
        Map<String, Long> m = new LinkedHashMap<>(values);
        m.put(knob, value);
        return new Config(m);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Long> e : values.entrySet()) {
            if (!sb.isEmpty()) sb.append(',');
            sb.append(e.getKey()).append('=').append(e.getValue());
        }
        return sb.toString();
    }

    /** Parses {@link #toString()}; the empty string is the config of an empty space. */
    public static Config parse(String text) {
        Map<String, Long> m = new LinkedHashMap<>();
        String t = text.strip();
        if (t.isEmpty()) return new Config(m);
        for (String part : t.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("bad config '" + text + "': expected name=value,name=value");
            String name = part.substring(0, eq).strip();
            try {
                if (m.put(name, Long.parseLong(part.substring(eq + 1).strip())) != null)
                    throw new IllegalArgumentException("bad config '" + text + "': knob " + name + " given twice");
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad config '" + text + "': value of " + name + " is not an integer", e);
            }
        }
        return new Config(m);
    }
}
