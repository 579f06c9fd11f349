package dev.kiln.irhigh.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Helpers for op tests: build a node, run infer and eval on concrete tensors, and check that
 * eval's outputs have exactly the types infer promised.
 */
final class OpTesting {
    private OpTesting() {}

    /** A node under construction; inputs are named after the tensors they are given. */
    static final class Spec {
        final String op;
        int opset = 17;
        int outputs = 1;
        String domain = "";
        final Map<String, Attr> attrs = new LinkedHashMap<>();

        Spec(String op) {
            this.op = op;
        }

        Spec opset(int v) {
            opset = v;
            return this;
        }

        Spec outputs(int k) {
            outputs = k;
            return this;
        }

        Spec domain(String d) {
            domain = d;
            return this;
        }

        Spec attr(String name, Object v) {
            attrs.put(name, dev.kiln.irhigh.GraphBuilder.attr(v));
            return this;
        }

        /** The node with k inputs (present[i] false: omitted) named in0, in1, ... */
        Node node(boolean... present) {
            List<String> ins = new ArrayList<>();
            for (int i = 0; i < present.length; i++) ins.add(present[i] ? "in" + i : "");
            List<String> outs = new ArrayList<>();
            for (int i = 0; i < outputs; i++) outs.add("out" + i);
            return new Node("n_" + op.toLowerCase(), op, domain, ins, outs, attrs, opset);
        }
    }

    static Spec op(String op) {
        return new Spec(op);
    }

    /** Infers and evaluates; every output must match its inferred dtype and shape. */
    static List<Tensor> run(Spec s, Tensor... inputs) {
        boolean[] present = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) present[i] = inputs[i] != null;
        Node n = s.node(present);
        List<Tensor> ins = Arrays.asList(inputs);
        List<Value> types = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) types.add(inputs[i] == null ? null : new Value(n.input(i), inputs[i].dtype(), inputs[i].shape()));
        OpDef def = OpRegistry.get(n);
        List<Value> inferred = def.infer(n, types, ins);
        List<Tensor> out = def.eval(n, ins);
        assertEquals(inferred.size(), out.size(), "number of outputs");
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i) == null) continue;
            assertEquals(inferred.get(i).dtype(), out.get(i).dtype(), "dtype of output " + i);
            assertEquals(inferred.get(i).shape(), out.get(i).shape(), "shape of output " + i);
            assertEquals(n.output(i), inferred.get(i).name(), "name of output " + i);
        }
        return out;
    }

    static Tensor run1(Spec s, Tensor... inputs) {
        return run(s, inputs).get(0);
    }

    /** Infers with the given input types; constants (may be null) are those known at compile time. */
    static List<Value> infer(Spec s, List<Value> types, List<Tensor> consts) {
        boolean[] present = new boolean[types.size()];
        for (int i = 0; i < present.length; i++) present[i] = types.get(i) != null;
        Node n = s.node(present);
        List<Value> named = new ArrayList<>();
        for (int i = 0; i < types.size(); i++)
            named.add(types.get(i) == null ? null : new Value(n.input(i), types.get(i).dtype(), types.get(i).shape()));
        return OpRegistry.get(n).infer(n, named, consts == null ? Arrays.asList(new Tensor[types.size()]) : consts);
    }

    /** The message of the KilnException that running the op throws. */
    static String error(Spec s, Tensor... inputs) {
        return assertThrows(KilnException.class, () -> run(s, inputs)).getMessage();
    }

    static Value v(DType t, int... dims) {
        return new Value("v", t, new Shape(dims));
    }

    static Shape shape(int... dims) {
        return new Shape(dims);
    }

    static Tensor f(int[] dims, float... v) {
        return Tensor.ofFloats(new Shape(dims), v);
    }

    /** A 1-D float tensor. */
    static Tensor f(float... v) {
        return Tensor.ofFloats(new Shape(v.length), v);
    }

    static Tensor i64(int[] dims, long... v) {
        return Tensor.ofLongs(new Shape(dims), v);
    }

    static Tensor i64(long... v) {
        return Tensor.ofLongs(new Shape(v.length), v);
    }

    static Tensor scalar(float v) {
        return Tensor.ofFloats(Shape.SCALAR, v);
    }

    static Tensor scalar(long v) {
        return Tensor.ofLongs(Shape.SCALAR, v);
    }

    static Tensor bools(int[] dims, long... v) {
        return Tensor.of(DType.BOOL, new Shape(dims), v);
    }

    static Tensor of(DType t, int[] dims, long... v) {
        return Tensor.of(t, new Shape(dims), v);
    }

    static int[] dims(int... d) {
        return d;
    }

    /** 1, 2, 3, ... as a float tensor of the given shape. */
    static Tensor iota(int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> i + 1);
    }

    static Tensor random(Random r, int... dims) {
        return Tensor.generate(DType.FLOAT32, new Shape(dims), i -> r.nextDouble() * 2 - 1);
    }

    static void assertValues(Tensor actual, float... expected) {
        assertArrayEquals(expected, actual.floats(), "values of " + actual);
    }

    static void assertValues(Tensor actual, double tol, float... expected) {
        assertArrayEquals(expected, actual.floats(), (float) tol, "values of " + actual);
    }

    static void assertLongs(Tensor actual, long... expected) {
        assertArrayEquals(expected, actual.longs(), "values of " + actual);
    }

    static void assertShape(Tensor actual, int... dims) {
        assertEquals(new Shape(dims), actual.shape());
    }
}
