package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * {@code kiln.Bf16MatMul(A, B)}: MatMul of float32 A ({@code [..., K]}) and a rank-2 float32
 * constant B ({@code [K, N]}) computed on their values rounded to bfloat16 (nearest even), the
 * products summed in float32 or better. What {@code kiln compile --precision bf16} makes of the
 * MatMuls and Gemms with constant weights, for CPUs with the bf16 dot product; shapes and types are
 * MatMul's. The reference rounds both operands and sums exactly in double.
 */
public final class Bf16MatMul implements OpDef {
    public static final String DOMAIN = "kiln", OP = "Bf16MatMul";

    static final Bf16MatMul INSTANCE = new Bf16MatMul();

    private Bf16MatMul() {}

    /** Whether {@code n} is such a node. */
    public static boolean is(Node n) {
        return n.domain().equals(DOMAIN) && n.op().equals(OP);
    }

    /** {@code x} rounded to bfloat16, nearest even (a NaN stays NaN), as a float. */
    public static float round(float x) {
        if (Float.isNaN(x)) return x;
        int bits = Float.floatToRawIntBits(x);
        return Float.intBitsToFloat(((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16);
    }

    @Override
    public List<Value> infer(Node node, List<Value> inputs, List<Tensor> constInputs) {
        for (int i = 0; i < 2; i++) {
            if (inputs.get(i) == null || inputs.get(i).dtype() != DType.FLOAT32)
                throw node.error("input " + i + " must be float32, got " + (inputs.get(i) == null ? "none" : inputs.get(i).dtype()));
        }
        if (inputs.get(1).shape().rank() != 2) throw node.error("B must be rank 2, got " + inputs.get(1).shape());
        Ops.requireInputs(node, 2, 3);
        long cols = inputs.get(1).shape().dim(1);
        if (node.hasInput(2) && (inputs.get(2).dtype() != DType.FLOAT32 || inputs.get(2).shape().numel() != cols))
            throw node.error("the bias must be " + cols + " float32 values, got " + inputs.get(2).dtype() + inputs.get(2).shape());
        return OpRegistry.matMul().infer(product(node), inputs.subList(0, 2), constInputs.subList(0, 2));
    }

    /** The node as the plain MatMul of its first two inputs (whose shapes and evaluation it shares). */
    private static Node product(Node node) {
        return new Node(node.name(), "MatMul", "", node.inputs().subList(0, 2), node.outputs(), java.util.Map.of(), 13);
    }

    @Override
    public List<Tensor> eval(Node node, List<Tensor> inputs) {
        List<Tensor> rounded = inputs.subList(0, 2).stream().map(t -> {
            float[] v = t.floats();
            return Tensor.generate(DType.FLOAT32, t.shape(), i -> round(v[i]));
        }).toList();
        Tensor y = OpRegistry.matMul().eval(product(node), rounded.subList(0, 2)).getFirst();
        if (!node.hasInput(2)) return List.of(y);
        float[] v = y.floats(), bias = inputs.get(2).floats();
        return List.of(Tensor.generate(DType.FLOAT32, y.shape(), i -> v[i] + bias[i % bias.length]));
    }
}
