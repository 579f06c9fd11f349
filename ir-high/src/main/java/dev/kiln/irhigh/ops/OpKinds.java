package dev.kiln.irhigh.ops;

import java.util.HashSet;
import java.util.Set;

/**
 * What each ONNX op is to the graph passes, defined once: {@code FuseOps} fuses every elementwise
 * op into an anchor's epilogue, and {@code BlockLayout} runs the blockable ones directly on
 * blocked (NCHWc) values. Before this, the two passes kept their own lists, which had drifted:
 * Elu, Selu, Softplus, Mish and PRelu ran blocked but never fused into a conv.
 */
public final class OpKinds {
    private OpKinds() {}

    /** One input, each output element a function of the same input element. */
    public static final Set<String> UNARY = Set.of("Relu", "Neg", "Abs", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Floor",
            "Ceil", "Reciprocal", "Not", "LeakyRelu", "HardSigmoid", "HardSwish", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
            "Cosh", "Asinh", "Acosh", "Atanh", "Softplus", "Softsign", "Mish", "Round", "Sign", "Elu", "Selu", "Celu",
            "ThresholdedRelu", "Shrink");

    /**
     * Each output element a function of the same element of every input, after broadcasting: the
     * unary ops, arithmetic, comparisons, logic, selection, casts, and batch norm in inference.
     */
    public static final Set<String> ELEMENTWISE = union(UNARY, Set.of("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less",
            "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Sum", "Mean", "Max", "Min", "Clip", "Where", "Cast",
            "BatchNormalization", "PRelu"));

    /**
     * Elementwise ops that run unchanged on a blocked value. A blocked value's padding channels
     * hold zeros that a later conv multiplies by zero weights, so an op must map 0 to a finite
     * value (Log, Reciprocal and Acosh do not); float to float (no comparisons, logic or casts);
     * and its other operands must be ones BlockLayout re-lays out (per-channel constants of the
     * arithmetic ops and PRelu's slope).
     */
    public static final Set<String> BLOCKABLE = Set.of("Relu", "Neg", "Abs", "Sigmoid", "Tanh", "Erf", "Exp", "Sqrt", "LeakyRelu",
            "HardSigmoid", "HardSwish", "Clip", "Round", "Floor", "Ceil", "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Elu", "Selu", "Softplus", "Mish",
            "PRelu");

    /** Ops a fused group is built around: its epilogue fuses into them. */
    public static final Set<String> ANCHORS = Set.of("Conv", "MatMul", "Gemm", "MaxPool", "AveragePool", "GlobalAveragePool",
            "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "Softmax", "LogSoftmax",
            "LayerNormalization");

    /** Ops that keep the elements and their order and only change the shape. */
    public static final Set<String> RESHAPES = Set.of("Reshape", "Flatten", "Squeeze", "Unsqueeze");

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new HashSet<>(a);
        u.addAll(b);
        return Set.copyOf(u);
    }
}
