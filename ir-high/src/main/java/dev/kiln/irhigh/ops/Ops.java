package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks shared by the op definitions, each failing with an error that names the node, the input
 * (by its ONNX role and its value name) and what was expected.
 */
final class Ops {
    private Ops() {}

    /** How an error names input i: {@code input X ('data')}. */
    static String in(Node n, int i, String role) {
        return "input " + role + " ('" + n.input(i) + "')";
    }

    static String type(Value v) {
        return v.dtype().numpyName + v.shape();
    }

    static Value optional(List<Value> inputs, int i) {
        return i < inputs.size() ? inputs.get(i) : null;
    }

    static Value required(Node n, List<Value> inputs, int i, String role) {
        Value v = optional(inputs, i);
        if (v == null) throw n.error("missing required input " + role + " (input " + i + ")");
        return v;
    }

    static Tensor constant(List<Tensor> consts, int i) {
        return consts != null && i < consts.size() ? consts.get(i) : null;
    }

    /** The integer values of input i, which must be a compile-time constant. */
    static long[] constLongs(Node n, List<Tensor> consts, int i, String role) {
        Tensor t = constant(consts, i);
        if (t == null)
            throw n.error(in(n, i, role) + " must be a compile-time constant: Kiln compiles for static shapes, "
                    + "and this input decides an output shape (fold it, or fix the model's input shapes)");
        if (!t.dtype().isInteger())
            throw n.error(in(n, i, role) + " must hold integers but has dtype " + t.dtype().numpyName);
        return t.toLongArray();
    }

    static void requireRank(Node n, Value v, int i, String role, int rank) {
        if (v.shape().rank() != rank)
            throw n.error(in(n, i, role) + " has shape " + v.shape() + " but " + n.op() + " needs rank " + rank);
    }

    static void requireRankAtLeast(Node n, Value v, int i, String role, int rank) {
        if (v.shape().rank() < rank)
            throw n.error(in(n, i, role) + " has shape " + v.shape() + " but " + n.op() + " needs rank " + rank + " or more");
    }

    static void requireFloat(Node n, Value v, int i, String role) {
        if (!v.dtype().isFloat())
            throw n.error(in(n, i, role) + " has dtype " + v.dtype().numpyName + " but " + n.op()
                    + " needs float16, float32 or float64");
    }

    static void requireNumeric(Node n, Value v, int i, String role) {
        if (v.dtype() == DType.BOOL)
            throw n.error(in(n, i, role) + " has dtype bool but " + n.op() + " needs a numeric tensor");
    }

    static void requireBool(Node n, Value v, int i, String role) {
        if (v.dtype() != DType.BOOL)
            throw n.error(in(n, i, role) + " has dtype " + v.dtype().numpyName + " but " + n.op() + " needs bool");
    }

    static void requireInteger(Node n, Value v, int i, String role) {
        if (!v.dtype().isInteger())
            throw n.error(in(n, i, role) + " has dtype " + v.dtype().numpyName + " but " + n.op() + " needs int32 or int64");
    }

    static void requireSameDtype(Node n, Value a, int ia, String ra, Value b, int ib, String rb) {
        if (a.dtype() != b.dtype())
            throw n.error(in(n, ib, rb) + " has dtype " + b.dtype().numpyName + " but " + n.op() + " needs the dtype of "
                    + in(n, ia, ra) + ", " + a.dtype().numpyName);
    }

    /** A scalar or one-element input (Clip's bounds, Range's arguments). */
    static void requireScalar(Node n, Value v, int i, String role) {
        if (v.shape().numel() != 1 || v.shape().rank() > 1)
            throw n.error(in(n, i, role) + " has shape " + v.shape() + " but " + n.op() + " needs a scalar");
    }

    /** Normalizes a possibly negative axis of a tensor of the given rank. */
    static int axis(Node n, long axis, int rank, String what) {
        if (axis < -rank || axis >= rank)
            throw n.error(what + " is " + axis + " but the tensor has rank " + rank + " (valid: "
                    + (rank == 0 ? "none" : -rank + ".." + (rank - 1)) + ")");
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** Normalizes a list of axes, rejecting duplicates. */
    static int[] axes(Node n, long[] axes, int rank, String what) {
        int[] r = new int[axes.length];
        boolean[] seen = new boolean[rank];
        for (int k = 0; k < axes.length; k++) {
            r[k] = axis(n, axes[k], rank, what);
            if (seen[r[k]]) throw n.error(what + " " + Arrays.toString(axes) + " names axis " + r[k] + " twice");
            seen[r[k]] = true;
        }
        return r;
    }

    /** A long attribute, or one that must fit an int. */
    static int intAttr(Node n, String attr, long dflt) {
        long v = n.attrInt(attr, dflt);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw n.error("attribute '" + attr + "' is out of range: " + v);
        return (int) v;
    }

    static Value out(Node n, int i, DType dtype, Shape shape) {
        return new Value(i < n.outputs().size() ? n.output(i) : "", dtype, shape);
    }

    static void requireOutputs(Node n, int min, int max) {
        int k = n.outputs().size();
        if (k < min || k > max)
            throw n.error("has " + k + " outputs but " + n.op() + " has " + (min == max ? "" + min : min + " to " + max));
    }

    static void requireInputs(Node n, int min, int max) {
        int k = n.inputs().size();
        if (k < min || k > max)
            throw n.error("has " + k + " inputs but " + n.op() + " takes " + (min == max ? "" + min : min + " to " + max));
    }

    /** The types of concrete tensors, so eval can reuse infer's shape logic. */
    static List<Value> types(Node n, List<Tensor> ts) {
        List<Value> r = new ArrayList<>(ts.size());
        for (int i = 0; i < ts.size(); i++) {
            Tensor t = ts.get(i);
            r.add(t == null ? null : new Value(n.input(i), t.dtype(), t.shape()));
        }
        return r;
    }

    /** Output types of an eval call, from infer with every input known. */
    static List<Value> inferFrom(OpDef def, Node n, List<Tensor> inputs) {
        return def.infer(n, types(n, inputs), inputs);
    }

    static int[] toInts(Node n, long[] v, String what) {
        int[] r = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] < Integer.MIN_VALUE || v[i] > Integer.MAX_VALUE) throw n.error(what + " value " + v[i] + " is out of range");
            r[i] = (int) v[i];
        }
        return r;
    }

    static long product(int[] dims, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p *= dims[i];
        return p;
    }
}
