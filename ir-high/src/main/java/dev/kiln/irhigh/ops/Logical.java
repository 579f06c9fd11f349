package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongBinaryOperator;

/** And, Or, Xor on bool tensors, with broadcasting. (Not is in {@link Unary}.) */
final class Logical implements OpDef {
    private final LongBinaryOperator f;

    private Logical(LongBinaryOperator f) {
        this.f = f;
    }

    static final Logical AND = new Logical((x, y) -> x & y), OR = new Logical((x, y) -> x | y),
            XOR = new Logical((x, y) -> x ^ y);

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value a = Ops.required(n, inputs, 0, "A"), b = Ops.required(n, inputs, 1, "B");
        Ops.requireBool(n, a, 0, "A");
        Ops.requireBool(n, b, 1, "B");
        return List.of(Ops.out(n, 0, DType.BOOL, Broadcast.of(n, Arrays.asList(a, b), "A", "B")));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        return List.of(Elementwise.binary(inputs.get(0), inputs.get(1), out, DType.BOOL, null, f));
    }
}
