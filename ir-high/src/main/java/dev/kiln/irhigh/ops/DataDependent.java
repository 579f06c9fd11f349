package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Ops whose output lengths depend on the input data (NonZero, NonMaxSuppression, Unique). Kiln
 * plans memory statically, so such an output is typed with its bound (the most elements it can
 * have: NonZero's {@code [rank, numel]}) and the kernel writes the actual tensor at the start of
 * that buffer, row-major in its actual shape, and the actual shape (int64, one per axis) into a
 * companion output named {@code <output>:shape}, which {@code BoundedOutputs} adds to the node
 * after the ONNX outputs, one per bounded output, in output order.
 *
 * <p>With constant inputs the shapes are exact and the node folds away like any other.
 */
public final class DataDependent {
    private DataDependent() {}

    public static final Set<String> OPS = Set.of("NonZero", "NonMaxSuppression", "Unique");

    /** The suffix of a companion output's name. */
    public static final String SHAPE_SUFFIX = ":shape";

    public static boolean is(Node n) {
        return OpRegistry.isOnnxDomain(n.domain()) && OPS.contains(n.op());
    }

    /** The companion output that carries the actual shape of {@code output}. */
    public static String shapeOutput(String output) {
        return output + SHAPE_SUFFIX;
    }

    /** The ONNX outputs of {@code n} whose length the data decides (Unique's inverse_indices does not). */
    public static List<Integer> boundedOutputs(Node n) {
        List<Integer> r = new ArrayList<>();
        for (int i = 0; i < onnxOutputs(n); i++) {
            if (n.output(i).isEmpty() || n.op().equals("Unique") && i == 2) continue;
            r.add(i);
        }
        return r;
    }

    /** How many of the node's outputs are ONNX's (the rest are companions). */
    public static int onnxOutputs(Node n) {
        int k = n.outputs().size();
        while (k > 0 && n.output(k - 1).endsWith(SHAPE_SUFFIX)) k--;
        return k;
    }

    /** Whether output {@code i} of {@code n} may evaluate to a tensor smaller than its inferred (bound) shape. */
    public static boolean mayShrink(Node n, int i) {
        return is(n) && boundedOutputs(n).contains(i);
    }

    /** {@code onnx} (the types of the ONNX outputs) followed by the types of the node's companion outputs. */
    static List<Value> withShapeOutputs(Node n, List<Value> onnx) {
        List<Value> r = new ArrayList<>(onnx);
        List<Integer> bounded = boundedOutputs(n);
        int companions = n.outputs().size() - onnxOutputs(n);
        if (companions != 0 && companions != bounded.size())
            throw n.error("has " + companions + " shape outputs for " + bounded.size() + " outputs of data-dependent length");
        for (int j = 0; j < companions; j++) {
            int of = bounded.get(j);
            String name = n.output(onnxOutputs(n) + j);
            if (!name.equals(shapeOutput(n.output(of))))
                throw n.error("output '" + name + "' should be named '" + shapeOutput(n.output(of)) + "'");
            r.add(new Value(name, DType.INT64, new Shape(onnx.get(of).shape().rank())));
        }
        return r;
    }

    /** {@code onnx} (the evaluated ONNX outputs, null where omitted) followed by their actual shapes for the companions. */
    static List<Tensor> withShapes(Node n, List<Tensor> onnx) {
        List<Tensor> r = new ArrayList<>(onnx);
        for (int j = 0; j < n.outputs().size() - onnxOutputs(n); j++) {
            Shape s = onnx.get(boundedOutputs(n).get(j)).shape();
            r.add(Tensor.ofLongs(new Shape(s.rank()), s.longDims()));
        }
        return r;
    }
}
