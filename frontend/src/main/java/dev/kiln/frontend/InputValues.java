package dev.kiln.frontend;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.math.BigDecimal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --input-value NAME=v1,v2,...}: graph inputs whose values decide shapes (a Reshape's
 * shape, a Slice's starts, a Resize's sizes, reduction axes) bound at compile time, as
 * {@code --input-shape} binds dimensions. A bound input becomes a constant of the model: the
 * compiled library no longer takes it.
 */
public final class InputValues {
    private InputValues() {}

    /** What Kiln's errors say of an input that decides a shape: {@code ('NAME') must be a compile-time constant}. */
    private static final Pattern NOT_CONSTANT = Pattern.compile("\\('([^']*)'\\) (must be|is not) a compile-time constant");

    /** {@code NAME=v1,v2,...} flags into a map, values as written (repeatable). */
    public static Map<String, List<String>> parse(List<String> specs) {
        Map<String, List<String>> r = new LinkedHashMap<>();
        if (specs == null) return r;
        for (String s : specs) {
            int eq = s.indexOf('=');
            if (eq <= 0) throw new KilnException("--input-value '" + s + "': expected NAME=V1,V2,... (e.g. shape=1,-1 or axes=2)");
            List<String> values = new ArrayList<>();
            for (String v : s.substring(eq + 1).split(",", -1)) values.add(v.strip());
            if (values.size() == 1 && values.getFirst().isEmpty()) values.clear(); // NAME= binds an empty tensor
            if (r.put(s.substring(0, eq), values) != null)
                throw new KilnException("--input-value given twice for input '" + s.substring(0, eq) + "'");
        }
        return r;
    }

    /** How many values each bound input gets: its length when the model leaves the length open. */
    public static Map<String, Integer> counts(Map<String, List<String>> values) {
        Map<String, Integer> r = new LinkedHashMap<>();
        values.forEach((k, v) -> r.put(k, v.size()));
        return r;
    }

    /**
     * Turns each named graph input into a constant holding its values, in the input's dtype and
     * shape; {@code model} names the model in errors.
     */
    public static void bind(Graph g, Map<String, List<String>> values, String model) {
        for (var e : values.entrySet()) {
            String name = e.getKey();
            Value in = g.inputs().stream().filter(v -> v.name().equals(name)).findFirst().orElseThrow(() -> new KilnException(
                    "--input-value " + name + ": model " + model + " has no input named '" + name + "'; its inputs are "
                            + String.join(", ", g.inputs().stream().map(Value::name).toList())));
            List<String> vs = e.getValue();
            if (in.shape().numel() != vs.size())
                throw new KilnException("--input-value " + name + ": input '" + name + "' has shape " + in.shape() + " (" + in.shape().numel()
                        + " values) but " + vs.size() + " were given");
            Tensor t = Tensor.zeros(in.dtype(), in.shape());
            for (int i = 0; i < vs.size(); i++) {
                String v = vs.get(i);
                try {
                    if (in.dtype().isFloat()) {
                        t.setDouble(i, Double.parseDouble(v));
                    } else if (in.dtype() == DType.BOOL) {
                        t.setLong(i, switch (v.toLowerCase(java.util.Locale.ROOT)) {
                            case "1", "true" -> 1;
                            case "0", "false" -> 0;
                            default -> throw new NumberFormatException();
                        });
                    } else {
                        t.setLong(i, new BigDecimal(v).longValueExact());
                    }
                } catch (NumberFormatException | ArithmeticException x) {
                    throw new KilnException("--input-value " + name + ": '" + v + "' is not a " + in.dtype().numpyName + " value (input '"
                            + name + "' has dtype " + in.dtype().numpyName + ")");
                }
            }
            g.inputs().remove(in);
            g.values().remove(name);
            g.initializers().put(name, t);
        }
    }

    /**
     * {@code e} with advice when it refuses a value that decides a shape: the graph inputs that
     * value is computed from, and the flag that binds them. Otherwise {@code e} itself.
     */
    public static KilnException explain(KilnException e, Graph g) {
        Matcher m = NOT_CONSTANT.matcher(String.valueOf(e.getMessage()));
        if (!m.find()) return e;
        Set<String> inputs = inputsBehind(g, m.group(1));
        if (inputs.isEmpty()) return e;
        String which = inputs.size() == 1 && inputs.contains(m.group(1)) ? "it is graph input '" + m.group(1) + "'"
                : "it is computed from graph input" + (inputs.size() > 1 ? "s " : " ") + String.join(", ", inputs.stream().map(s -> "'" + s + "'").toList());
        String example = String.join(" ", inputs.stream().map(s -> "--input-value " + s + "=V1,V2,...").toList());
        return new KilnException(e.getMessage() + "; " + which + ": bind " + (inputs.size() > 1 ? "them" : "it")
                + " at compile time with " + example, e);
    }

    /** The graph inputs that {@code value} depends on, through the nodes that compute it. */
    private static Set<String> inputsBehind(Graph g, String value) {
        Set<String> graphInputs = new HashSet<>();
        g.inputs().forEach(v -> graphInputs.add(v.name()));
        Map<String, Node> producer = new LinkedHashMap<>();
        for (Node n : g.nodes()) for (String o : n.outputs()) if (!o.isEmpty()) producer.put(o, n);
        Set<String> found = new LinkedHashSet<>(), seen = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(value));
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (!seen.add(v)) continue;
            if (graphInputs.contains(v)) found.add(v);
            Node p = producer.get(v);
            // Shape and Size read only their input's (static) shape, not its values.
            if (p != null && !List.of("Shape", "Size").contains(p.op())) for (String in : p.inputs()) if (!in.isEmpty()) todo.push(in);
        }
        return found;
    }
}
