package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import java.util.Map;
import java.util.TreeMap;

/** The op definitions Kiln knows, by ONNX op type (default ONNX domain only). */
public final class OpRegistry {
    private OpRegistry() {}

    private static final Map<String, OpDef> OPS = new TreeMap<>();
    private static final OpDef RECURRENT = new Recurrent();
    private static final OpDef CONTROL_FLOW = new ControlFlowOp();

    static {
        // Elementwise, one input.
        OPS.put("Relu", Unary.RELU);
        OPS.put("LeakyRelu", Unary.LEAKY_RELU);
        OPS.put("Sigmoid", Unary.SIGMOID);
        OPS.put("Tanh", Unary.TANH);
        OPS.put("Exp", Unary.EXP);
        OPS.put("Log", Unary.LOG);
        OPS.put("Neg", Unary.NEG);
        OPS.put("Abs", Unary.ABS);
        OPS.put("Sqrt", Unary.SQRT);
        OPS.put("Reciprocal", Unary.RECIPROCAL);
        OPS.put("Erf", Unary.ERF);
        OPS.put("Floor", Unary.FLOOR);
        OPS.put("Ceil", Unary.CEIL);
        OPS.put("HardSigmoid", Unary.HARD_SIGMOID);
        OPS.put("HardSwish", Unary.HARD_SWISH);
        OPS.put("Not", Unary.NOT);
        OPS.put("Sin", Unary.SIN);
        OPS.put("Cos", Unary.COS);
        OPS.put("Tan", Unary.TAN);
        OPS.put("Asin", Unary.ASIN);
        OPS.put("Acos", Unary.ACOS);
        OPS.put("Atan", Unary.ATAN);
        OPS.put("Sinh", Unary.SINH);
        OPS.put("Cosh", Unary.COSH);
        OPS.put("Asinh", Unary.ASINH);
        OPS.put("Acosh", Unary.ACOSH);
        OPS.put("Atanh", Unary.ATANH);
        OPS.put("Softplus", Unary.SOFTPLUS);
        OPS.put("Softsign", Unary.SOFTSIGN);
        OPS.put("Mish", Unary.MISH);
        OPS.put("Round", Unary.ROUND);
        OPS.put("Sign", Unary.SIGN);
        OPS.put("Elu", Unary.ELU);
        OPS.put("Selu", Unary.SELU);
        OPS.put("Celu", Unary.CELU);
        OPS.put("ThresholdedRelu", Unary.THRESHOLDED_RELU);
        OPS.put("PRelu", new PRelu());
        OPS.put("Shrink", Unary.SHRINK);
        OPS.put("Clip", new Clip());
        // Elementwise with broadcasting.
        OPS.put("Add", Arithmetic.ADD);
        OPS.put("Sub", Arithmetic.SUB);
        OPS.put("Mul", Arithmetic.MUL);
        OPS.put("Div", Arithmetic.DIV);
        OPS.put("Pow", Arithmetic.POW);
        OPS.put("Mod", new Mod());
        OPS.put("Max", Variadic.MAX);
        OPS.put("Min", Variadic.MIN);
        OPS.put("Sum", Variadic.SUM);
        OPS.put("Mean", Variadic.MEAN);
        OPS.put("Equal", Comparison.EQUAL);
        OPS.put("Less", Comparison.LESS);
        OPS.put("Greater", Comparison.GREATER);
        OPS.put("LessOrEqual", Comparison.LESS_OR_EQUAL);
        OPS.put("GreaterOrEqual", Comparison.GREATER_OR_EQUAL);
        OPS.put("And", Logical.AND);
        OPS.put("Or", Logical.OR);
        OPS.put("Xor", Logical.XOR);
        OPS.put("Where", new Where());
        // Anchors: convolution, pooling, dense, normalization, reductions.
        OPS.put("Conv", new Conv());
        OPS.put("ConvTranspose", new ConvTranspose());
        OPS.put("MaxPool", Pool.MAX);
        OPS.put("AveragePool", Pool.AVERAGE);
        OPS.put("GlobalMaxPool", Pool.GLOBAL_MAX);
        OPS.put("GlobalAveragePool", Pool.GLOBAL_AVERAGE);
        OPS.put("Gemm", new Gemm());
        OPS.put("MatMul", new MatMul());
        OPS.put("BatchNormalization", new BatchNormalization());
        OPS.put("LayerNormalization", new LayerNormalization());
        OPS.put("InstanceNormalization", new InstanceNormalization());
        OPS.put("Softmax", Softmax.SOFTMAX);
        OPS.put("NegativeLogLikelihoodLoss", NllLoss.NLL);
        OPS.put("SoftmaxCrossEntropyLoss", NllLoss.SOFTMAX_CROSS_ENTROPY);
        OPS.put("LogSoftmax", Softmax.LOG_SOFTMAX);
        OPS.put("ReduceMean", Reduce.MEAN);
        OPS.put("ReduceSum", Reduce.SUM);
        OPS.put("ReduceMax", Reduce.MAX);
        OPS.put("ReduceMin", Reduce.MIN);
        OPS.put("ReduceProd", Reduce.PROD);
        OPS.put("ArgMax", ArgMinMax.ARG_MAX);
        OPS.put("ArgMin", ArgMinMax.ARG_MIN);
        OPS.put("ReduceL1", Reduce.L1);
        OPS.put("ReduceL2", Reduce.L2);
        OPS.put("ReduceSumSquare", Reduce.SUM_SQUARE);
        OPS.put("ReduceLogSum", Reduce.LOG_SUM);
        OPS.put("ReduceLogSumExp", Reduce.LOG_SUM_EXP);
        // Shapes and data movement.
        OPS.put("Flatten", new Flatten());
        OPS.put("Reshape", new Reshape());
        OPS.put("Transpose", new Transpose());
        OPS.put("Concat", new Concat());
        OPS.put("Split", new Split());
        OPS.put("Slice", new Slice());
        OPS.put("Gather", new Gather());
        OPS.put("Unsqueeze", new Unsqueeze());
        OPS.put("Squeeze", new Squeeze());
        OPS.put("Expand", new Expand());
        OPS.put("Tile", new Tile());
        OPS.put("Pad", new Pad());
        OPS.put("Resize", new Resize());
        OPS.put("Upsample", new Resize());
        OPS.put("Trilu", new Trilu());
        OPS.put("CumSum", new CumSum());
        OPS.put("Hardmax", new Hardmax());
        OPS.put("EyeLike", new EyeLike());
        OPS.put("DepthToSpace", SpaceDepth.DEPTH_TO_SPACE);
        OPS.put("SpaceToDepth", SpaceDepth.SPACE_TO_DEPTH);
        OPS.put("GatherElements", new GatherElements());
        OPS.put("BitShift", new BitShift());
        OPS.put("GatherND", new GatherND());
        OPS.put("OneHot", new OneHot());
        OPS.put("ScatterElements", new ScatterElements());
        OPS.put("Scatter", new ScatterElements());
        OPS.put("TopK", new TopK());
        OPS.put("Einsum", new Einsum());
        OPS.put("ScatterND", new ScatterND());
        OPS.put("QuantizeLinear", Quantize.QUANTIZE);
        OPS.put("DequantizeLinear", Quantize.DEQUANTIZE);
        OPS.put("Compress", new Compress());
        OPS.put("DynamicQuantizeLinear", new DynamicQuantizeLinear());
        OPS.put("MatMulInteger", QuantizedProduct.MATMUL_INTEGER);
        OPS.put("ConvInteger", QuantizedProduct.CONV_INTEGER);
        OPS.put("QLinearMatMul", QuantizedProduct.QLINEAR_MATMUL);
        OPS.put("QLinearConv", QuantizedProduct.QLINEAR_CONV);
        OPS.put("LRN", new Lrn());
        OPS.put("ReverseSequence", new ReverseSequence());
        OPS.put("HannWindow", SignalWindow.HANN);
        OPS.put("HammingWindow", SignalWindow.HAMMING);
        OPS.put("BlackmanWindow", SignalWindow.BLACKMAN);
        OPS.put("IsNaN", FloatClass.IS_NAN);
        OPS.put("IsInf", FloatClass.IS_INF);
        OPS.put("CastLike", new CastLike());
        OPS.put("Cast", new Cast());
        OPS.put("Identity", new Identity());
        OPS.put("Dropout", new Dropout());
        // Constants and shape queries.
        OPS.put("Constant", new Constant());
        OPS.put("ConstantOfShape", new ConstantOfShape());
        OPS.put("Shape", new ShapeOp());
        OPS.put("Size", new Size());
        OPS.put("Range", new Range());
        OPS.put("If", CONTROL_FLOW);
        OPS.put("Loop", CONTROL_FLOW);
        OPS.put("Scan", CONTROL_FLOW);
        OPS.put("GridSample", new GridSample());
        OPS.put("RoiAlign", new RoiAlign());
        OPS.put("Det", new Det());
        OPS.put("NonZero", new NonZero());
        OPS.put("NonMaxSuppression", new NonMaxSuppression());
        OPS.put("Unique", new Unique());
        OPS.put("MaxUnpool", new MaxUnpool());
        OPS.put("MeanVarianceNormalization", new MeanVarianceNormalization());
        OPS.put("TfIdfVectorizer", new TfIdfVectorizer());
        // Audio front ends.
        OPS.put("DFT", Spectral.DFT);
        OPS.put("STFT", Spectral.STFT);
        OPS.put("MelWeightMatrix", Spectral.MEL_WEIGHT_MATRIX);
        // Recurrent layers.
        OPS.put("LSTM", RECURRENT);
        OPS.put("GRU", RECURRENT);
        OPS.put("RNN", RECURRENT);
    }

    /** The definition of the node's op, or an error naming the node, op, domain and opset. */
    public static OpDef get(Node node) {
        if (node.domain().equals(Blocked.DOMAIN) && Blocked.def(node) != null) return Blocked.def(node);
        if (node.domain().equals(RnnCell.DOMAIN) && node.op().equals(RnnCell.OP)) return RECURRENT;
        if (Int8MatMul.is(node)) return Int8MatMul.INSTANCE;
        if (Int8Conv.is(node)) return Int8Conv.INSTANCE;
        if (Bf16MatMul.is(node)) return Bf16MatMul.INSTANCE;
        if (Bf16Conv.is(node)) return Bf16Conv.INSTANCE;
        if (!isOnnxDomain(node.domain()))
            throw node.error("unsupported domain '" + node.domain() + "' (op '" + node.op()
                    + "'); Kiln supports only the default ONNX domain (\"\" or \"ai.onnx\")");
        OpDef def = OPS.get(node.op());
        if (def == null) throw node.error("unsupported op '" + node.op() + "'; Kiln supports: " + String.join(", ", OPS.keySet()));
        return def;
    }

    /** ONNX MatMul's definition (for the kiln ops that share its shapes). */
    static OpDef matMul() {
        return OPS.get("MatMul");
    }

    public static boolean isOnnxDomain(String domain) {
        return domain.isEmpty() || domain.equals("ai.onnx");
    }

    /** True when the node is in the ONNX domain and Kiln knows its op. */
    public static boolean supports(Node node) {
        return isOnnxDomain(node.domain()) && OPS.containsKey(node.op());
    }

    /** The supported op types, sorted. */
    public static java.util.Set<String> supportedOps() {
        return java.util.Collections.unmodifiableSet(OPS.keySet());
    }
}
