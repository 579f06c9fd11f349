package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * {@code kiln.Int8MatMul(A, B, a_zero_point?, b_zero_point?)}: MatMulInteger's int32
 * {@code (A - a_zp) x (B - b_zp)}, in the form {@code DecomposeQuantizedProducts} leaves for CPU
 * targets when it can be computed by the native int8 kernel: B a rank-2 constant (a weight, which
 * the kernel packs at compile time), A's zero point per tensor (a run-time value is fine), B's per
 * tensor or per column and constant. The semantics, shapes and reference are MatMulInteger's.
 */
public final class Int8MatMul implements OpDef {
    public static final String DOMAIN = "kiln", OP = "Int8MatMul";

    static final Int8MatMul INSTANCE = new Int8MatMul();

    private Int8MatMul() {}

    /** Whether {@code n} is such a node. */
    public static boolean is(Node n) {
        return n.domain().equals(DOMAIN) && n.op().equals(OP);
    }

    @Override
    public List<Value> infer(Node node, List<Value> inputs, List<Tensor> constInputs) {
        return QuantizedProduct.MATMUL_INTEGER.infer(node, inputs, constInputs);
    }

    @Override
    public List<Tensor> eval(Node node, List<Tensor> inputs) {
        return QuantizedProduct.MATMUL_INTEGER.eval(node, inputs);
    }
}
