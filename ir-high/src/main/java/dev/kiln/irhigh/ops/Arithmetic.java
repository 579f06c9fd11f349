package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.LongBinaryOperator;

/**
 * Add, Sub, Mul, Div and Pow with numpy broadcasting. Integer Div truncates toward zero (as C and
 * ONNX Runtime do). Pow's exponent may have another dtype; the output has the base's dtype.
 * Before opset 7, {@code broadcast=1} with {@code axis} aligns B with A starting at that axis.
 */
final class Arithmetic implements OpDef {
    private final String op;

    private Arithmetic(String op) {
        this.op = op;
    }

    static final Arithmetic ADD = new Arithmetic("Add"), SUB = new Arithmetic("Sub"), MUL = new Arithmetic("Mul"),
            DIV = new Arithmetic("Div"), POW = new Arithmetic("Pow");

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value a = Ops.required(n, inputs, 0, "A"), b = Ops.required(n, inputs, 1, "B");
        Ops.requireNumeric(n, a, 0, "A");
        Ops.requireNumeric(n, b, 1, "B");
        if (!op.equals("Pow")) Ops.requireSameDtype(n, a, 0, "A", b, 1, "B");
        Value bAligned = new Value(b.name(), b.dtype(), legacyShape(n, a.shape(), b.shape()));
        Shape out = Broadcast.of(n, java.util.Arrays.asList(a, bAligned), "A", "B");
        return List.of(Ops.out(n, 0, a.dtype(), out));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor a = inputs.get(0), b = inputs.get(1);
        b = b.reshape(legacyShape(n, a.shape(), b.shape()));
        boolean unsigned = a.dtype() == DType.UINT64;
        DoubleBinaryOperator fd = switch (op) {
            case "Add" -> Double::sum;
            case "Sub" -> (x, y) -> x - y;
            case "Mul" -> (x, y) -> x * y;
            case "Div" -> (x, y) -> x / y;
            default -> Math::pow;
        };
        LongBinaryOperator fl = switch (op) {
            case "Add" -> Long::sum;
            case "Sub" -> (x, y) -> x - y;
            case "Mul" -> (x, y) -> x * y;
            case "Div" -> (x, y) -> {
                if (y == 0) throw n.error("integer division by zero");
                return unsigned ? Long.divideUnsigned(x, y) : x / y;
            };
            default -> Arithmetic::intPow;
        };
        // Mixed dtypes only occur in Pow; a float exponent takes the double path, truncated to the base type.
        return List.of(Elementwise.binary(a, b, out, a.dtype(), fd, fl));
    }

    /** B's shape for the pre-opset-7 {@code broadcast}/{@code axis} attributes (trailing 1s after B). */
    private static Shape legacyShape(Node n, Shape a, Shape b) {
        if (n.opset() >= 7 || n.attrInt("broadcast", 0) == 0 || !n.has("axis")) return b;
        int axis = Ops.axis(n, n.attrInt("axis", 0), a.rank(), "attribute 'axis'");
        int trailing = a.rank() - axis - b.rank();
        if (trailing < 0) throw n.error("input B has shape " + b + ", which does not fit in A's shape " + a + " from axis " + axis);
        int[] d = new int[b.rank() + trailing];
        java.util.Arrays.fill(d, 1);
        System.arraycopy(b.dims(), 0, d, 0, b.rank());
        return new Shape(d);
    }

    /** Exact integer power; a negative exponent follows truncated division (1/x^k). */
    static long intPow(long base, long exp) {
        if (exp < 0) return base == 1 ? 1 : base == -1 ? ((exp & 1) == 0 ? 1 : -1) : 0;
        long r = 1;
        while (exp > 0) {
            if ((exp & 1) != 0) r *= base;
            base *= base;
            exp >>= 1;
        }
        return r;
    }
}
