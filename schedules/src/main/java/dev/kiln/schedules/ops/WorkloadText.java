package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The canonical text of a {@link Workload}, read back line by line: the target, the external
 * inputs, the ops with their arguments and attributes, the outputs. It is the inverse of
 * {@link Workload#of}'s printing and nothing more: whether the lines make a kernel is
 * {@link WorkloadGraph}'s question. Text that does not have the form is an
 * {@link IllegalArgumentException} naming the line.
 */
record WorkloadText(String target, List<Input> inputs, List<Op> ops, List<Output> outputs) {

    /** Tensors of more dimensions than this are refused (no model has them; lowering is per dimension). */
    static final int MAX_RANK = 32;

    /** Most elements of any one value: larger tensors than any model holds are refused, not lowered. */
    static final long MAX_ELEMENTS = 1L << 31;

    /** {@code inN DTYPE SHAPE [const [ints...]]}; {@code values} is null unless the constant's values are listed. */
    record Input(DType dtype, long[] shape, boolean constant, long[] values) {}

    /**
     * An op line. {@code args} are {@code inN}, {@code vK.J} (output J of op line K) or {@code ""}
     * for an omitted input.
     */
    record Op(String domain, String op, List<String> args, Map<String, Attr> attrs, int line) {}

    record Output(DType dtype, long[] shape) {}

    /** Float-list and string-list attributes of the ops Kiln knows: {@code []} and lists of numbers print alike. */
    private static final Set<String> FLOATS = Set.of("activation_alpha", "activation_beta", "scales", "weights", "value_floats");
    private static final Set<String> STRINGS = Set.of("activations", "value_strings", "pool_strings");

    private static final Pattern INPUT = Pattern.compile("in(\\d+) (\\S+) (\\S+)( const( (\\S+))?)?");
    private static final Pattern OUTPUT = Pattern.compile("out (\\S+) (\\S+)");
    private static final Pattern HEAD = Pattern.compile("(?:(\\S+)\\.)?([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern ARG = Pattern.compile("_|in\\d+|v\\d+\\.\\d+");
    /** Where an attribute value may end: the end of the line or the next {@code " name="}. */
    private static final Pattern NEXT_ATTR = Pattern.compile("( [A-Za-z_][A-Za-z0-9_]*=|$)");
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern INTEGER = Pattern.compile("-?\\d+");

    static WorkloadText parse(String text) {
        if (!text.endsWith("\n")) throw new IllegalArgumentException("workload text does not end with a newline (truncated?)");
        String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
        int i = 0;
        if (!lines[0].startsWith("target ") || lines[0].length() == "target ".length())
            throw error(1, lines[0], "the first line must be 'target NAME'");
        String target = lines[i++].substring("target ".length());
        List<Input> inputs = new ArrayList<>();
        while (i < lines.length && lines[i].startsWith("in") && !lines[i].contains("(")) {
            inputs.add(input(lines[i], i + 1, inputs.size()));
            i++;
        }
        List<Op> ops = new ArrayList<>();
        while (i < lines.length && !lines[i].startsWith("out ")) {
            ops.add(op(lines[i], i + 1));
            i++;
        }
        if (ops.isEmpty()) throw new IllegalArgumentException("workload text has no op line after its inputs (truncated?)");
        List<Output> outputs = new ArrayList<>();
        for (; i < lines.length; i++) {
            Matcher m = OUTPUT.matcher(lines[i]);
            if (!m.matches()) throw error(i + 1, lines[i], "expected 'out DTYPE SHAPE' (every op line comes before the outputs)");
            outputs.add(new Output(dtype(m.group(1), i + 1, lines[i]), shape(m.group(2), i + 1, lines[i])));
        }
        if (outputs.isEmpty()) throw new IllegalArgumentException("workload text has no 'out' line (truncated?)");
        return new WorkloadText(target, inputs, ops, outputs);
    }

    private static Input input(String line, int no, int index) {
        Matcher m = INPUT.matcher(line);
        if (!m.matches()) throw error(no, line, "expected 'inN DTYPE SHAPE [const [values]]'");
        if (!m.group(1).equals(Integer.toString(index))) throw error(no, line, "inputs must be numbered in0, in1, ... in order; expected in" + index);
        DType dtype = dtype(m.group(2), no, line);
        long[] shape = shape(m.group(3), no, line);
        long[] values = m.group(6) == null ? null : ints(m.group(6), ",", no, line);
        return new Input(dtype, shape, m.group(4) != null, values);
    }

    private static Op op(String line, int no) {
        int open = line.indexOf('('), close = line.indexOf(')');
        if (open < 0 || close < open) throw error(no, line, "expected an op line 'Op(args) attr=value ...'");
        Matcher head = HEAD.matcher(line.substring(0, open));
        if (!head.matches()) throw error(no, line, "'" + line.substring(0, open) + "' is not an op name");
        List<String> args = new ArrayList<>();
        String inside = line.substring(open + 1, close);
        if (!inside.isEmpty()) {
            for (String a : inside.split(",", -1)) {
                if (!ARG.matcher(a).matches()) throw error(no, line, "argument '" + a + "' is not inN, vK.J or _");
                args.add(a.equals("_") ? "" : a);
            }
        }
        String domain = head.group(1) == null ? "" : head.group(1);
        return new Op(domain, head.group(2), args, attrs(line, close + 1, no), no);
    }

    /** The attributes {@code " name=value"} from {@code pos} to the end of the line, in the order printed (sorted by name). */
    private static Map<String, Attr> attrs(String line, int pos, int no) {
        Map<String, Attr> attrs = new LinkedHashMap<>();
        while (pos < line.length()) {
            int eq = line.indexOf('=', pos);
            if (line.charAt(pos) != ' ' || eq < 0 || !NAME.matcher(line.substring(pos + 1, eq)).matches())
                throw error(no, line, "expected ' name=value' at column " + (pos + 1));
            String name = line.substring(pos + 1, eq);
            int start = eq + 1, end = valueEnd(line, start);
            if (end < 0) throw error(no, line, "the value of attribute '" + name + "' does not end");
            if (attrs.put(name, attr(name, line.substring(start, end), no, line)) != null)
                throw error(no, line, "attribute '" + name + "' appears twice");
            pos = end;
        }
        return attrs;
    }

    /**
     * Where the value starting at {@code start} ends. A string or list may hold spaces: it ends at
     * the first closing quote or bracket followed by the next attribute or the end of the line.
     */
    private static int valueEnd(String line, int start) {
        if (start >= line.length()) return start;
        char c = line.charAt(start);
        if (line.startsWith("Tensor(", start)) return line.length();
        if (c != '"' && c != '[') {
            int space = line.indexOf(' ', start);
            return space < 0 ? line.length() : space;
        }
        char close = c == '"' ? '"' : ']';
        Matcher next = NEXT_ATTR.matcher(line);
        for (int q = line.indexOf(close, start + 1); q >= 0; q = line.indexOf(close, q + 1)) {
            if (next.region(q + 1, line.length()).lookingAt()) return q + 1;
        }
        return -1;
    }

    /** One attribute value, typed as {@link Workload} printed it; lists of no or only integral elements take the type the op expects. */
    private static Attr attr(String name, String v, int no, String line) {
        if (v.startsWith("Tensor(") || v.matches("t#-?\\d+"))
            throw error(no, line, "attribute '" + name + "' is a tensor; the workload text holds only a hash of its values, so the kernel cannot be rebuilt");
        if (v.equals("<graph>"))
            throw error(no, line, "attribute '" + name + "' is a graph; the workload text does not hold it, so the kernel cannot be rebuilt");
        if (v.isEmpty()) throw error(no, line, "attribute '" + name + "' has no value");
        if (v.startsWith("\"")) {
            if (v.length() < 2 || !v.endsWith("\"")) throw error(no, line, "attribute '" + name + "': unterminated string");
            return new Attr.Str(v.substring(1, v.length() - 1));
        }
        if (v.startsWith("[")) {
            String inner = v.substring(1, v.length() - 1);
            List<String> parts = inner.isEmpty() ? List.of() : Arrays.asList(inner.split(", ", -1));
            if (STRINGS.contains(name)) return new Attr.Strs(List.copyOf(parts));
            if (FLOATS.contains(name) || !parts.isEmpty() && parts.stream().allMatch(WorkloadText::isFloat) && !parts.stream().allMatch(WorkloadText::isInteger)) {
                float[] f = new float[parts.size()];
                for (int i = 0; i < f.length; i++) f[i] = toFloat(parts.get(i), name, no, line);
                return new Attr.Floats(f);
            }
            if (parts.stream().allMatch(WorkloadText::isInteger)) {
                long[] l = new long[parts.size()];
                for (int i = 0; i < l.length; i++) l[i] = toLong(parts.get(i), name, no, line);
                return new Attr.Ints(l);
            }
            return new Attr.Strs(List.copyOf(parts));
        }
        if (isInteger(v)) return new Attr.Int(toLong(v, name, no, line));
        if (isFloat(v)) return new Attr.Float(toFloat(v, name, no, line));
        throw error(no, line, "attribute '" + name + "' has value '" + v + "', which is neither a number, a quoted string nor a list");
    }

    private static boolean isInteger(String s) {
        return INTEGER.matcher(s).matches();
    }

    /** How Float.toString prints: a '.', an exponent, NaN or Infinity. */
    private static boolean isFloat(String s) {
        return s.matches("-?(\\d+\\.\\d+(E-?\\d+)?|NaN|Infinity)");
    }

    private static long toLong(String s, String what, int no, String line) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw error(no, line, what + ": '" + s + "' is not a 64-bit integer");
        }
    }

    private static float toFloat(String s, String what, int no, String line) {
        if (!isFloat(s)) throw error(no, line, what + ": '" + s + "' is not a float as Float.toString prints one");
        return Float.parseFloat(s);
    }

    private static DType dtype(String s, int no, String line) {
        for (DType t : DType.values()) if (t.name().equals(s)) return t;
        throw error(no, line, "unknown dtype '" + s + "'; expected one of " + Arrays.toString(DType.values()));
    }

    /** {@code [d,d,...]} as Shape prints it: no spaces, every dimension in 0..2^31-1. */
    private static long[] shape(String s, int no, String line) {
        long[] d = ints(s, ",", no, line);
        if (d.length > MAX_RANK) throw error(no, line, "a tensor of rank " + d.length + "; at most " + MAX_RANK + " dimensions are rebuilt");
        for (long x : d) if (x < 0 || x > Integer.MAX_VALUE) throw error(no, line, "dimension " + x + " is outside 0.." + Integer.MAX_VALUE);
        if (elements(d) > MAX_ELEMENTS) throw error(no, line, "a tensor of more than " + MAX_ELEMENTS + " elements");
        return d;
    }

    /** The product of {@code dims}, or Long.MAX_VALUE when it overflows. */
    static long elements(long[] dims) {
        long n = 1;
        for (long d : dims) {
            if (d == 0) return 0;
            n = d > Long.MAX_VALUE / n ? Long.MAX_VALUE : n * d;
        }
        return n;
    }

    private static long[] ints(String s, String sep, int no, String line) {
        if (!s.startsWith("[") || !s.endsWith("]") || s.length() < 2) throw error(no, line, "'" + s + "' is not a bracketed list");
        String inner = s.substring(1, s.length() - 1);
        if (inner.isEmpty()) return new long[0];
        String[] parts = inner.split(sep, -1);
        long[] r = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (!isInteger(parts[i])) throw error(no, line, "'" + parts[i] + "' in " + s + " is not an integer");
            r[i] = toLong(parts[i], "list " + s, no, line);
        }
        return r;
    }

    static IllegalArgumentException error(int no, String line, String what) {
        String shown = line.length() > 120 ? line.substring(0, 120) + "..." : line;
        return new IllegalArgumentException("workload text line " + no + " ('" + shown + "'): " + what);
    }
}
