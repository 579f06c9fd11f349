package dev.kiln.driver;

import dev.kiln.irhigh.KilnException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Parsing of option values shared by several commands. */
public final class Options {
    private Options() {}

    /** {@code NAME=1,3,224,224} flags into a map (repeatable). */
    public static Map<String, long[]> inputShapes(List<String> specs) {
        Map<String, long[]> r = new LinkedHashMap<>();
        if (specs == null) return r;
        for (String s : specs) {
            int eq = s.lastIndexOf('=');
            if (eq <= 0 || eq == s.length() - 1)
                throw new KilnException("--input-shape '" + s + "': expected NAME=D1,D2,... (e.g. input=1,3,224,224)");
            String name = s.substring(0, eq);
            String[] parts = s.substring(eq + 1).split(",");
            long[] dims = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    dims[i] = Long.parseLong(parts[i].strip());
                } catch (NumberFormatException e) {
                    throw new KilnException("--input-shape '" + s + "': '" + parts[i] + "' is not a dimension; expected NAME=D1,D2,...");
                }
                if (dims[i] <= 0) throw new KilnException("--input-shape '" + s + "': dimensions must be positive");
            }
            if (r.put(name, dims) != null) throw new KilnException("--input-shape given twice for input '" + name + "'");
        }
        return r;
    }
}
