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
 * Max, Min, Sum and Mean of one or more inputs with numpy broadcasting, accumulated left to right
 * in double (floats) or long (integers) and rounded once. Max and Min propagate NaN.
 */
final class Variadic implements OpDef {
    private final String op;

    private Variadic(String op) {
        this.op = op;
    }

    static final Variadic MAX = new Variadic("Max"), MIN = new Variadic("Min"), SUM = new Variadic("Sum"),
            MEAN = new Variadic("Mean");

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        if (inputs.isEmpty()) throw n.error(n.op() + " needs at least one input");
        String[] roles = new String[inputs.size()];
        Value first = Ops.required(n, inputs, 0, "data_0");
        for (int i = 0; i < inputs.size(); i++) {
            roles[i] = "data_" + i;
            Value v = Ops.required(n, inputs, i, roles[i]);
            Ops.requireNumeric(n, v, i, roles[i]);
            Ops.requireSameDtype(n, first, 0, "data_0", v, i, roles[i]);
        }
        if (op.equals("Mean")) Ops.requireFloat(n, first, 0, "data_0");
        return List.of(Ops.out(n, 0, first.dtype(), Broadcast.of(n, inputs, roles)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        DType dtype = inputs.get(0).dtype();
        int size = Math.toIntExact(out.numel());
        if (dtype.isFloat()) {
            DoubleBinaryOperator f = switch (op) {
                case "Max" -> Math::max;
                case "Min" -> Math::min;
                default -> Double::sum;
            };
            double[] acc = new double[size];
            for (int k = 0; k < inputs.size(); k++) {
                double[] x = TensorData.toDoubles(inputs.get(k));
                int[] map = TensorData.broadcastMap(inputs.get(k).shape(), out);
                for (int i = 0; i < size; i++) {
                    double v = x[TensorData.at(map, i)];
                    acc[i] = k == 0 ? v : f.applyAsDouble(acc[i], v);
                }
            }
            if (op.equals("Mean")) for (int i = 0; i < size; i++) acc[i] /= inputs.size();
            return List.of(TensorData.fromDoubles(dtype, out, acc));
        }
        boolean unsigned = dtype == DType.UINT64;
        LongBinaryOperator f = switch (op) {
            case "Max" -> unsigned ? (x, y) -> Long.compareUnsigned(x, y) >= 0 ? x : y : Math::max;
            case "Min" -> unsigned ? (x, y) -> Long.compareUnsigned(x, y) <= 0 ? x : y : Math::min;
            default -> Long::sum;
        };
        long[] acc = new long[size];
        for (int k = 0; k < inputs.size(); k++) {
            long[] x = inputs.get(k).longs();
            int[] map = TensorData.broadcastMap(inputs.get(k).shape(), out);
            for (int i = 0; i < size; i++) {
                long v = x[TensorData.at(map, i)];
                acc[i] = k == 0 ? v : f.applyAsLong(acc[i], v);
            }
        }
        return List.of(Tensor.of(dtype, out, acc));
    }
}
