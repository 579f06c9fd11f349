package dev.kiln.irhigh;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds small graphs for tests: {@code new GraphBuilder("g").input(...).node(...).output(...).build()}. */
public final class GraphBuilder {
    private final Graph g;
    private int opset = 17;
    private int count;

    public GraphBuilder(String name) {
        g = new Graph(name);
        g.opsets().put("", opset);
    }

    public GraphBuilder opset(int v) {
        opset = v;
        g.opsets().put("", v);
        return this;
    }

    public GraphBuilder input(String name, DType t, int... dims) {
        g.inputs().add(new Value(name, t, new Shape(dims)));
        return this;
    }

    public GraphBuilder init(String name, Tensor t) {
        g.initializers().put(name, t);
        return this;
    }

    /** A node; {@code attrs} alternates names and values (Integer/Long, Float, String, int[]/long[], float[], Tensor). */
    public GraphBuilder node(String op, List<String> inputs, List<String> outputs, Object... attrs) {
        Map<String, Attr> a = new LinkedHashMap<>();
        for (int i = 0; i < attrs.length; i += 2) a.put((String) attrs[i], attr(attrs[i + 1]));
        g.nodes().add(new Node(op.toLowerCase() + "_" + count++, op, "", inputs, outputs, a, opset));
        return this;
    }

    public GraphBuilder output(String... names) {
        g.outputs().addAll(Arrays.asList(names));
        return this;
    }

    public Graph build() {
        return g;
    }

    public static Attr attr(Object v) {
        return switch (v) {
            case Integer i -> new Attr.Int(i);
            case Long l -> new Attr.Int(l);
            case Float f -> new Attr.Float(f);
            case Double d -> new Attr.Float(d.floatValue());
            case String s -> new Attr.Str(s);
            case long[] l -> new Attr.Ints(l);
            case int[] ints -> new Attr.Ints(Arrays.stream(ints).asLongStream().toArray());
            case float[] f -> new Attr.Floats(f);
            case Tensor t -> new Attr.TensorAttr(t);
            default -> throw new IllegalArgumentException("attribute value " + v);
        };
    }
}
