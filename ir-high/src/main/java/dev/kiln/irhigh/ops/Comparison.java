package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.LongBinaryOperator;

/** Equal, Less, Greater, LessOrEqual, GreaterOrEqual: broadcasting, bool output; NaN compares false. */
final class Comparison implements OpDef {
    private final String op;

    private Comparison(String op) {
        this.op = op;
    }

    static final Comparison EQUAL = new Comparison("Equal"), LESS = new Comparison("Less"),
            GREATER = new Comparison("Greater"), LESS_OR_EQUAL = new Comparison("LessOrEqual"),
            GREATER_OR_EQUAL = new Comparison("GreaterOrEqual");

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value a = Ops.required(n, inputs, 0, "A"), b = Ops.required(n, inputs, 1, "B");
        if (!op.equals("Equal")) Ops.requireNumeric(n, a, 0, "A");
        Ops.requireSameDtype(n, a, 0, "A", b, 1, "B");
        return List.of(Ops.out(n, 0, DType.BOOL, Broadcast.of(n, Arrays.asList(a, b), "A", "B")));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor a = inputs.get(0), b = inputs.get(1);
        boolean unsigned = a.dtype() == DType.UINT64;
        DoubleBinaryOperator fd = switch (op) {
            case "Equal" -> (x, y) -> x == y ? 1 : 0;
            case "Less" -> (x, y) -> x < y ? 1 : 0;
            case "Greater" -> (x, y) -> x > y ? 1 : 0;
            case "LessOrEqual" -> (x, y) -> x <= y ? 1 : 0;
            default -> (x, y) -> x >= y ? 1 : 0;
        };
        LongBinaryOperator cmp = unsigned ? Long::compareUnsigned : Long::compare;
        LongBinaryOperator fl = switch (op) {
            case "Equal" -> (x, y) -> x == y ? 1 : 0;
            case "Less" -> (x, y) -> cmp.applyAsLong(x, y) < 0 ? 1 : 0;
            case "Greater" -> (x, y) -> cmp.applyAsLong(x, y) > 0 ? 1 : 0;
            case "LessOrEqual" -> (x, y) -> cmp.applyAsLong(x, y) <= 0 ? 1 : 0;
            default -> (x, y) -> cmp.applyAsLong(x, y) >= 0 ? 1 : 0;
        };
        return List.of(Elementwise.binary(a, b, out, DType.BOOL, fd, fl));
    }
}
