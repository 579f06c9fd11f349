package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import java.util.function.LongUnaryOperator;

/**
 * Elementwise ops of one input: the output has the input's shape and dtype. Float math is done
 * in double and rounded once to the output dtype.
 */
final class Unary implements OpDef {
    private final Function<Node, DoubleUnaryOperator> f;
    /** The integer version, or null when the op takes floats only. */
    private final LongUnaryOperator ints;

    private Unary(Function<Node, DoubleUnaryOperator> f, LongUnaryOperator ints) {
        this.f = f;
        this.ints = ints;
    }

    private static Unary floats(DoubleUnaryOperator f) {
        return new Unary(n -> f, null);
    }

    static final Unary RELU = new Unary(n -> x -> x > 0 ? x : (x == x ? 0 : x), x -> Math.max(x, 0));
    static final Unary NEG = new Unary(n -> x -> -x, x -> -x);
    static final Unary ABS = new Unary(n -> Math::abs, Math::abs);
    static final Unary SIGMOID = floats(Unary::sigmoid);
    static final Unary TANH = floats(Math::tanh);
    static final Unary EXP = floats(Math::exp);
    static final Unary LOG = floats(Math::log);
    static final Unary SQRT = floats(Math::sqrt);
    static final Unary RECIPROCAL = floats(x -> 1 / x);
    static final Unary ERF = floats(Erf::erf);
    static final Unary FLOOR = floats(Math::floor);
    static final Unary CEIL = floats(Math::ceil);
    static final Unary LEAKY_RELU = new Unary(n -> {
        double alpha = n.attrFloat("alpha", 0.01f);
        return x -> x >= 0 ? x : alpha * x;
    }, null);
    static final Unary HARD_SIGMOID = new Unary(n -> {
        double alpha = n.attrFloat("alpha", 0.2f), beta = n.attrFloat("beta", 0.5f);
        return x -> clamp01(alpha * x + beta);
    }, null);
    static final Unary HARD_SWISH = floats(x -> x * clamp01(x / 6 + 0.5));
    static final Unary SIN = floats(Math::sin), COS = floats(Math::cos), TAN = floats(Math::tan);
    static final Unary ASIN = floats(Math::asin), ACOS = floats(Math::acos), ATAN = floats(Math::atan);
    static final Unary SINH = floats(Math::sinh), COSH = floats(Math::cosh);
    static final Unary ASINH = floats(x -> x == Double.NEGATIVE_INFINITY ? x : Math.log(x + Math.sqrt(x * x + 1)));
    static final Unary ACOSH = floats(x -> Math.log(x + Math.sqrt(x * x - 1)));
    static final Unary ATANH = floats(x -> 0.5 * Math.log((1 + x) / (1 - x)));
    static final Unary SOFTPLUS = floats(x -> x > 30 ? x : Math.log1p(Math.exp(x)));
    static final Unary SOFTSIGN = floats(x -> x / (1 + Math.abs(x)));
    static final Unary MISH = floats(x -> x * Math.tanh(x > 30 ? x : Math.log1p(Math.exp(x))));
    /** Round half to even, as ONNX's Round. */
    static final Unary ROUND = floats(Math::rint);
    static final Unary SIGN = new Unary(n -> Math::signum, Long::signum);
    static final Unary ELU = new Unary(n -> {
        double alpha = n.attrFloat("alpha", 1f);
        return x -> x < 0 ? alpha * (Math.exp(x) - 1) : x;
    }, null);
    static final Unary SELU = new Unary(n -> {
        double alpha = n.attrFloat("alpha", 1.67326319217681884765625f), gamma = n.attrFloat("gamma", 1.05070102214813232421875f);
        return x -> x <= 0 ? gamma * (alpha * Math.exp(x) - alpha) : gamma * x;
    }, null);
    static final Unary CELU = new Unary(n -> {
        double alpha = n.attrFloat("alpha", 1f);
        return x -> Math.max(0, x) + Math.min(0, alpha * (Math.exp(x / alpha) - 1));
    }, null);
    static final Unary THRESHOLDED_RELU = new Unary(n -> {
        double alpha = n.attrFloat("alpha", 1f);
        return x -> x > alpha ? x : 0;
    }, null);
    static final Unary SHRINK = new Unary(n -> {
        double lambd = n.attrFloat("lambd", 0.5f), bias = n.attrFloat("bias", 0f);
        return x -> x < -lambd ? x + bias : x > lambd ? x - bias : 0;
    }, null);
    /** Logical not: bool in, bool out. */
    static final Unary NOT = new Unary(null, x -> x == 0 ? 1 : 0);

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X");
        if (f == null) Ops.requireBool(n, x, 0, "X");
        else if (ints == null) Ops.requireFloat(n, x, 0, "X");
        else Ops.requireNumeric(n, x, 0, "X");
        return List.of(Ops.out(n, 0, x.dtype(), x.shape()));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        int size = x.size();
        return List.of(switch (TensorData.storage(x)) {
            case float[] a -> {
                DoubleUnaryOperator g = f.apply(n);
                float[] r = new float[size];
                for (int i = 0; i < size; i++) r[i] = (float) g.applyAsDouble(a[i]);
                yield Tensor.of(x.dtype(), x.shape(), r);
            }
            case double[] a -> {
                DoubleUnaryOperator g = f.apply(n);
                double[] r = new double[size];
                for (int i = 0; i < size; i++) r[i] = g.applyAsDouble(a[i]);
                yield Tensor.of(DType.FLOAT64, x.shape(), r);
            }
            case long[] a -> {
                long[] r = new long[size];
                for (int i = 0; i < size; i++) r[i] = ints.applyAsLong(a[i]);
                yield Tensor.of(x.dtype(), x.shape(), r);
            }
            default -> throw new IllegalStateException();
        });
    }

    /** The logistic function, in a form that neither overflows nor loses the small tail. */
    static double sigmoid(double x) {
        if (x >= 0) return 1 / (1 + Math.exp(-x));
        double e = Math.exp(x);
        return e / (1 + e);
    }

    private static double clamp01(double v) {
        return v != v ? v : Math.max(0, Math.min(1, v));
    }
}
