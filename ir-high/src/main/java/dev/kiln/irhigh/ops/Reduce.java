package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/**
 * ReduceMean, ReduceSum, ReduceMax, ReduceMin and ReduceProd over {@code axes}: an attribute, or
 * an optional input from opset 13 (ReduceSum) or 18 (the others). No axes reduces every axis,
 * unless {@code noop_with_empty_axes=1}, which makes the op an identity. Floats accumulate in
 * double in row-major order; integers in long (an integer mean truncates). Max and Min propagate NaN.
 * L1, L2, SumSquare, LogSum and LogSumExp sum |x|, x², x, x and exp(x), then take sqrt (L2) or log.
 */
final class Reduce implements OpDef {
    private final String op;

    private Reduce(String op) {
        this.op = op;
    }

    static final Reduce MEAN = new Reduce("Mean"), SUM = new Reduce("Sum"), MAX = new Reduce("Max"),
            MIN = new Reduce("Min"), PROD = new Reduce("Prod");
    /** Sums of a function of each element, with a function of the sum after. */
    static final Reduce L1 = new Reduce("L1"), L2 = new Reduce("L2"), SUM_SQUARE = new Reduce("SumSquare"),
            LOG_SUM = new Reduce("LogSum"), LOG_SUM_EXP = new Reduce("LogSumExp");

    /** Which input axes are reduced (none: identity), and the output shape. */
    private record Plan(boolean[] reduced, Shape out) {}

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "data");
        Ops.requireNumeric(n, x, 0, "data");
        return List.of(Ops.out(n, 0, x.dtype(), plan(n, x.shape(), inputs, consts).out));
    }

    private boolean axesAsInput(Node n) {
        return n.opset() >= (op.equals("Sum") ? 13 : 18);
    }

    private Plan plan(Node n, Shape in, List<Value> inputs, List<Tensor> consts) {
        long[] axes;
        if (axesAsInput(n)) {
            Ops.requireInputs(n, 1, 2);
            axes = Ops.optional(inputs, 1) == null ? null : Ops.constLongs(n, consts, 1, "axes");
        } else {
            Ops.requireInputs(n, 1, 1);
            axes = n.attrInts("axes", null);
        }
        int r = in.rank();
        boolean[] reduced = new boolean[r];
        if (axes == null || axes.length == 0) {
            if (n.attrInt("noop_with_empty_axes", 0) != 0) return new Plan(reduced, in);
            Arrays.fill(reduced, true);
        } else {
            for (int a : Ops.axes(n, axes, r, "axes")) reduced[a] = true;
        }
        boolean keep = n.attrInt("keepdims", 1) != 0;
        int[] d = new int[r];
        int k = 0;
        for (int i = 0; i < r; i++) {
            if (!reduced[i]) d[k++] = in.dim(i);
            else if (keep) d[k++] = 1;
        }
        return new Plan(reduced, new Shape(Arrays.copyOf(d, k)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Tensor xt = inputs.get(0);
        Shape in = xt.shape();
        Plan p = plan(n, in, Ops.types(n, inputs), inputs);
        // Where each input element goes: its index in the output with reduced axes dropped.
        int r = in.rank();
        int[][] contrib = new int[r][];
        long stride = 1;
        for (int d = r - 1; d >= 0; d--) {
            contrib[d] = new int[in.dim(d)];
            if (p.reduced[d]) continue;
            for (int i = 0; i < in.dim(d); i++) contrib[d][i] = (int) (i * stride);
            stride *= in.dim(d);
        }
        int[] to = TensorData.axisMap(in, contrib);
        int outSize = Math.toIntExact(p.out.numel()), size = xt.size();
        long count = outSize == 0 ? 0 : (long) size / outSize;
        if (xt.dtype().isFloat()) {
            double[] x = TensorData.toDoubles(xt), acc = new double[outSize];
            Arrays.fill(acc, switch (op) {
                case "Max" -> Double.NEGATIVE_INFINITY;
                case "Min" -> Double.POSITIVE_INFINITY;
                case "Prod" -> 1;
                default -> 0;
            });
            for (int i = 0; i < size; i++) {
                int o = to[i];
                double v = switch (op) {
                    case "L1" -> Math.abs(x[i]);
                    case "L2", "SumSquare" -> x[i] * x[i];
                    case "LogSumExp" -> Math.exp(x[i]);
                    default -> x[i];
                };
                acc[o] = switch (op) {
                    case "Max" -> v > acc[o] || v != v ? v : acc[o];
                    case "Min" -> v < acc[o] || v != v ? v : acc[o];
                    case "Prod" -> acc[o] * v;
                    default -> acc[o] + v;
                };
            }
            if (op.equals("Mean")) for (int i = 0; i < outSize; i++) acc[i] /= count;
            if (op.equals("L2")) for (int i = 0; i < outSize; i++) acc[i] = Math.sqrt(acc[i]);
            if (op.startsWith("LogSum")) for (int i = 0; i < outSize; i++) acc[i] = Math.log(acc[i]);
            return List.of(TensorData.fromDoubles(xt.dtype(), p.out, acc));
        }
        long[] x = xt.longs(), acc = new long[outSize];
        Arrays.fill(acc, switch (op) {
            case "Max" -> Long.MIN_VALUE;
            case "Min" -> Long.MAX_VALUE;
            case "Prod" -> 1;
            default -> 0;
        });
        for (int i = 0; i < size; i++) {
            int o = to[i];
            long v = switch (op) {
                case "L1" -> Math.abs(x[i]);
                case "L2", "SumSquare" -> x[i] * x[i];
                case "LogSum", "LogSumExp" -> throw n.error("integer input: only float " + n.op() + " is supported");
                default -> x[i];
            };
            acc[o] = switch (op) {
                case "Max" -> Math.max(acc[o], x[i]);
                case "Min" -> Math.min(acc[o], x[i]);
                case "Prod" -> acc[o] * x[i];
                default -> acc[o] + v;
            };
        }
        if (op.equals("Mean")) for (int i = 0; i < outSize; i++) acc[i] = count == 0 ? 0 : acc[i] / count;
        if (op.equals("L2")) for (int i = 0; i < outSize; i++) acc[i] = (long) Math.sqrt(acc[i]);
        return List.of(Tensor.of(xt.dtype(), p.out, acc));
    }
}
