package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad inputs get an error that names the node, the input and what was expected. */
class InferErrorTest {
    private static String inferError(OpTesting.Spec s, Value... types) {
        return assertThrows(KilnException.class, () -> infer(s, Arrays.asList(types), null)).getMessage();
    }

    @Test
    void convRankAndChannels() {
        String m = inferError(op("Conv"), v(DType.FLOAT32, 1, 3), v(DType.FLOAT32, 8, 3, 3, 3));
        assertEquals("node 'n_conv' (Conv, opset 17): input X ('in0') has shape [1,3] but Conv needs rank 3, 4 or 5 ([N, C, spatial...])", m);
        m = inferError(op("Conv"), v(DType.FLOAT32, 1, 4, 8, 8), v(DType.FLOAT32, 8, 3, 3, 3));
        assertTrue(m.contains("input W ('in1') has shape [8,3,3,3]") && m.contains("must be 4"), m);
        m = inferError(op("Conv"), v(DType.FLOAT32, 1, 3, 2, 2), v(DType.FLOAT32, 8, 3, 3, 3));
        assertTrue(m.contains("too small for a kernel"), m);
        m = inferError(op("Conv"), v(DType.INT64, 1, 3, 2, 2), v(DType.INT64, 8, 3, 1, 1));
        assertTrue(m.contains("has dtype int64 but Conv needs float"), m);
        m = inferError(op("Conv"), v(DType.FLOAT32, 1, 3, 5, 5), v(DType.FLOAT32, 8, 3, 3, 3), v(DType.FLOAT32, 4));
        assertTrue(m.contains("input B ('in2') has shape [4] but Conv needs [8]"), m);
        m = inferError(op("Conv").attr("pads", new int[] {1, 1}), v(DType.FLOAT32, 1, 3, 5, 5), v(DType.FLOAT32, 8, 3, 3, 3));
        assertTrue(m.contains("'pads' [1, 1] has 2 values but needs 4"), m);
    }

    @Test
    void broadcastMismatchNamesBothShapes() {
        String m = inferError(op("Add"), v(DType.FLOAT32, 2, 3), v(DType.FLOAT32, 4));
        assertTrue(m.startsWith("node 'n_add' (Add, opset 17): input B ('in1') has shape [4], which does not broadcast with input A ('in0')'s shape [2,3]"), m);
        m = inferError(op("Add"), v(DType.FLOAT32, 2), v(DType.INT64, 2));
        assertTrue(m.contains("input B ('in1') has dtype int64 but Add needs the dtype of input A ('in0'), float32"), m);
    }

    @Test
    void shapeInputsMustBeConstant() {
        String m = inferError(op("Reshape"), v(DType.FLOAT32, 2, 3), v(DType.INT64, 2));
        assertTrue(m.contains("input shape ('in1') must be a compile-time constant"), m);
        List<Value> types = List.of(v(DType.FLOAT32, 2, 3), v(DType.INT64, 2));
        assertEquals(new Shape(3, 2), infer(op("Reshape"), types, Arrays.asList(null, i64(3, -1))).get(0).shape());
        assertTrue(inferError(op("Slice"), v(DType.FLOAT32, 4), v(DType.INT64, 1), v(DType.INT64, 1)).contains("starts"));
        assertTrue(inferError(op("Unsqueeze"), v(DType.FLOAT32, 4), v(DType.INT64, 1)).contains("axes"));
    }

    @Test
    void reshapeMistakes() {
        assertTrue(error(op("Reshape"), iota(2, 3), i64(-1, -1)).contains("more than one -1"));
        assertTrue(error(op("Reshape"), iota(2, 3), i64(4, -1)).contains("does not divide"));
        assertTrue(error(op("Reshape"), iota(2, 3), i64(5)).contains("cannot reshape [2,3] (6 elements) to [5]"));
        assertTrue(error(op("Reshape"), iota(6), i64(0, 0)).contains("has rank 1"));
    }

    @Test
    void otherShapeMistakes() {
        assertTrue(inferError(op("MatMul"), v(DType.FLOAT32, 2, 3), v(DType.FLOAT32, 4, 5)).contains("A's last dimension (3) must equal B's second-to-last dimension (4)"));
        assertTrue(inferError(op("Gemm"), v(DType.FLOAT32, 2, 3), v(DType.FLOAT32, 3, 4), v(DType.FLOAT32, 3)).contains("does not broadcast to the output [2,4]"));
        assertTrue(inferError(op("Concat").attr("axis", 0), v(DType.FLOAT32, 2, 3), v(DType.FLOAT32, 2, 4)).contains("needs every other dimension equal"));
        assertTrue(inferError(op("Concat"), v(DType.FLOAT32, 2, 3)).contains("missing required attribute 'axis'"));
        assertTrue(inferError(op("Softmax").attr("axis", 2), v(DType.FLOAT32, 2, 3)).contains("attribute 'axis' is 2 but the tensor has rank 2 (valid: -2..1)"));
        assertTrue(inferError(op("MaxPool"), v(DType.FLOAT32, 1, 1, 4, 4)).contains("missing required attribute 'kernel_shape'"));
        assertTrue(inferError(op("Relu"), v(DType.BOOL, 2)).contains("needs a numeric tensor"));
        assertTrue(inferError(op("Add")).contains("has 0 inputs but Add takes 2"));
        assertTrue(inferError(op("BatchNormalization").attr("training_mode", 1), v(DType.FLOAT32, 1, 2), v(DType.FLOAT32, 2),
                v(DType.FLOAT32, 2), v(DType.FLOAT32, 2), v(DType.FLOAT32, 2)).contains("inference"));
        assertTrue(inferError(op("Conv").attr("auto_pad", "SAME"), v(DType.FLOAT32, 1, 1, 3, 3), v(DType.FLOAT32, 1, 1, 1, 1)).contains("auto_pad 'SAME'"));
    }

    @Test
    void registryNamesUnsupportedOpsAndDomains() {
        String m = assertThrows(KilnException.class, () -> OpRegistry.get(op("Foo").opset(13).node())).getMessage();
        assertTrue(m.startsWith("node 'n_foo' (Foo, opset 13): unsupported op 'Foo'; Kiln supports: Abs, "), m);
        assertTrue(m.contains(", Add, And, "), m);
        m = assertThrows(KilnException.class, () -> OpRegistry.get(op("FusedConv").domain("com.microsoft").opset(1).node())).getMessage();
        assertTrue(m.startsWith("node 'n_fusedconv' (com.microsoft.FusedConv, opset 1): unsupported domain 'com.microsoft'"), m);
        assertTrue(OpRegistry.supports(op("Relu").domain("ai.onnx").node()));
        for (String op : List.of("Conv", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs",
                "Sqrt", "Reciprocal", "Erf", "Floor", "Ceil", "HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min",
                "Sum", "Mean", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Not", "Where", "MaxPool",
                "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Flatten", "Reshape", "Transpose", "Softmax",
                "LogSoftmax", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "LayerNormalization", "Concat", "Split",
                "Slice", "Constant", "ConstantOfShape", "Identity", "Dropout", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Cast",
                "Expand", "Range", "Tile", "Pad"))
            assertTrue(OpRegistry.supportedOps().contains(op), op);
    }

    private static OpTesting.Spec tfidf() {
        return op("TfIdfVectorizer").opset(9).attr("mode", "TF").attr("min_gram_length", 1).attr("max_gram_length", 2)
                .attr("max_skip_count", 0).attr("pool_int64s", new long[] {1, 2, 1, 2}).attr("ngram_counts", new long[] {0, 2})
                .attr("ngram_indexes", new long[] {0, 1, 2});
    }

    @Test
    void tfIdfVectorizerAttributeMistakes() {
        assertEquals(new Shape(2, 3), infer(tfidf(), List.of(v(DType.INT32, 2, 5)), null).get(0).shape());
        OpTesting.Spec strings = tfidf();
        strings.attrs.put("pool_strings", new dev.kiln.irhigh.Attr.Strs(List.of("a", "b")));
        String m = inferError(strings, v(DType.INT64, 5));
        assertTrue(m.startsWith("node 'n_tfidfvectorizer' (TfIdfVectorizer, opset 9): has pool_strings"), m);
        assertTrue(inferError(tfidf(), v(DType.FLOAT32, 5)).contains("has dtype float32 but TfIdfVectorizer takes int32 or int64"));
        assertTrue(inferError(tfidf(), v(DType.INT64, 2, 2, 2)).contains("takes [C] or [N, C]"));
        assertTrue(inferError(tfidf().attr("mode", "BM25"), v(DType.INT64, 5)).contains("attribute 'mode' is 'BM25'"));
        assertTrue(inferError(tfidf().attr("max_gram_length", 3), v(DType.INT64, 5)).contains("ngram_counts gives the start of only 2"));
        assertTrue(inferError(tfidf().attr("ngram_counts", new long[] {0, 1}), v(DType.INT64, 5)).contains("not a whole number of 2-grams"));
        assertTrue(inferError(tfidf().attr("pool_int64s", new long[] {1, 1, 1, 2}), v(DType.INT64, 5)).contains("holds the 1-gram [1] twice"));
        assertTrue(inferError(tfidf().attr("ngram_indexes", new long[] {0, 1}), v(DType.INT64, 5)).contains("output columns for only 2"));
        assertTrue(inferError(tfidf().attr("weights", new float[] {1}), v(DType.INT64, 5)).contains("'weights' has 1 values but ngram_indexes has 3"));
    }
}
