package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Elementwise ops against the reference evaluator: odd sizes, broadcasting, every supported dtype. */
class ElementwiseOpsTest {
    @ParameterizedTest
    @ValueSource(strings = {"Relu", "Neg", "Abs", "Sigmoid", "Tanh", "Erf", "Exp", "Floor", "Ceil", "HardSwish"})
    void unaryFloat(String op) {
        op(op).in(rand(2, 3, 13)).check();
        op(op).in(rand(7)).target(AVX512).check();
        op(op).in(rand(1)).check();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Log", "Sqrt", "Reciprocal"})
    void unaryPositive(String op) {
        op(op).in(randIn(0.1, 3, 5, 13)).check();
    }

    @Test
    void unaryWithAttributes() {
        op("LeakyRelu").attr("alpha", 0.2f).in(rand(3, 17)).check();
        op("LeakyRelu").in(rand(33)).check();
        op("HardSigmoid").attr("alpha", 0.3f).attr("beta", 0.4f).in(rand(4, 9)).check();
        op("HardSigmoid").in(rand(4, 9)).check();
    }

    @Test
    void unaryOtherTypes() {
        op("Relu").in(randF64(3, 11)).check();
        op("Exp").in(randF64(37)).check();
        op("Neg").in(randInt(DType.INT32, -20, 20, 5, 7)).check();
        op("Abs").in(randInt(DType.INT64, -20, 20, 29)).check();
        op("Relu").in(randInt(DType.INT8, -100, 100, 3, 3)).check();
        op("Not").in(randBool(6, 7)).check();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div"})
    void binaryBroadcast(String op) {
        op(op).in(rand(2, 3, 13)).in(randIn(0.5, 2, 2, 3, 13)).check();
        op(op).in(rand(2, 3, 13)).in(randIn(0.5, 2, 13)).check();         // trailing
        op(op).in(rand(2, 3, 1)).in(randIn(0.5, 2, 1, 7)).check();         // both sides broadcast
        op(op).in(rand(4, 3, 5, 7)).in(randIn(0.5, 2, 3, 1, 1)).check();    // bias-like, middle
        op(op).in(rand(1)).in(randIn(0.5, 2, 6, 1)).target(AVX512).check();
        op(op).in(rand(5, 9)).constant(scalar(1.5f)).check();               // scalar initializer
    }

    @Test
    void binarySameValueTwice() {
        op("Mul").in(rand(3, 13)).sameAs(0).check();
        op("Add").in(rand(3, 1)).sameAs(0).check();
    }

    @Test
    void binaryIntegers() {
        op("Add").in(randInt(DType.INT32, -50, 50, 3, 7)).in(randInt(DType.INT32, -50, 50, 7)).check();
        op("Mul").in(randInt(DType.INT64, -50, 50, 13)).in(randInt(DType.INT64, -50, 50, 13)).check();
        // Integer Div truncates toward zero: mixed signs on purpose.
        op("Div").in(randInt(DType.INT32, -50, 50, 4, 9)).in(randInt(DType.INT32, 1, 7, 9)).check();
        op("Div").in(randInt(DType.INT64, -50, 50, 4, 9)).in(randInt(DType.INT64, -7, -1, 4, 1)).check();
        op("Sub").in(randInt(DType.UINT8, 0, 255, 11)).in(randInt(DType.UINT8, 0, 255, 11)).check();
        op("Add").in(randF64(3, 5)).in(randF64(5)).check();
    }

    @Test
    void pow() {
        op("Pow").in(randIn(0.1, 3, 3, 7)).in(rand(7)).check();
        op("Pow").in(rand(3, 7)).constant(Tensor.ofFloats(Shape.SCALAR, 2f)).check();
        op("Pow").in(rand(3, 7)).in(randInt(DType.INT64, 0, 3, 3, 7)).check();
        op("Pow").in(randInt(DType.INT32, -5, 5, 11)).in(randInt(DType.INT32, 0, 4, 11)).check();
    }

    @Test
    void legacyBroadcastWithAxis() {
        op("Add").opset(6).attr("broadcast", 1L).attr("axis", 1L).in(rand(2, 3, 4, 5)).in(rand(3)).check();
        op("Mul").opset(6).attr("broadcast", 1L).attr("axis", 1L).in(rand(2, 3, 4, 5)).in(rand(3, 4)).check();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Sum", "Mean", "Max", "Min"})
    void variadic(String op) {
        op(op).in(rand(3, 13)).check();
        op(op).in(rand(3, 13)).in(rand(13)).check();
        op(op).in(rand(3, 1)).in(rand(1, 13)).in(rand(3, 13)).check();
        if (!op.equals("Mean")) op(op).in(randInt(DType.INT32, -9, 9, 5)).in(randInt(DType.INT32, -9, 9, 5)).check();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
    void comparisons(String op) {
        op(op).in(randInt(DType.INT64, -3, 3, 4, 9)).in(randInt(DType.INT64, -3, 3, 9)).check();
        Tensor a = randInt(DType.INT32, -3, 3, 4, 9);
        op(op).in(a.cast(DType.FLOAT32)).in(randInt(DType.INT32, -3, 3, 4, 1).cast(DType.FLOAT32)).check();
    }

    @ParameterizedTest
    @ValueSource(strings = {"And", "Or", "Xor"})
    void logical(String op) {
        op(op).in(randBool(3, 13)).in(randBool(13)).check();
        op(op).in(randBool(2, 1, 5)).in(randBool(3, 1)).check();
    }

    @Test
    void where() {
        op("Where").in(randBool(3, 13)).in(rand(3, 13)).in(rand(13)).check();
        op("Where").in(randBool(13)).in(rand(2, 1)).in(rand(2, 13)).check();
        op("Where").in(randBool(4, 5)).in(randInt(DType.INT64, -9, 9, 4, 5)).in(randInt(DType.INT64, -9, 9, 1)).check();
    }

    @Test
    void clip() {
        op("Clip").in(rand(3, 13)).constant(scalar(-0.5f)).constant(scalar(0.7f)).check();
        op("Clip").in(rand(3, 13)).constant(scalar(0f)).check();                    // ReLU-like: min only
        op("Clip").in(rand(3, 13)).none().constant(scalar(6f)).check();            // max only
        op("Clip").in(rand(3, 13)).check();                                           // no bounds
        op("Clip").in(rand(3, 13)).in(scalar(-0.25f)).in(scalar(1f)).check();      // run-time bounds
        op("Clip").opset(6).attr("min", 0f).attr("max", 6f).in(randIn(-3, 9, 29)).check();
        op("Clip").in(randInt(DType.INT64, -20, 20, 17)).constant(Tensor.ofLongs(Shape.SCALAR, -5)).constant(Tensor.ofLongs(Shape.SCALAR, 5)).check();
    }

    @Test
    void cast() {
        op("Cast").attr("to", (long) DType.INT32.onnxCode).in(randIn(-9, 9, 4, 7)).check();
        op("Cast").attr("to", (long) DType.FLOAT32.onnxCode).in(randInt(DType.INT64, -99, 99, 13)).check();
        op("Cast").attr("to", (long) DType.FLOAT64.onnxCode).in(rand(13)).check();
        op("Cast").attr("to", (long) DType.FLOAT32.onnxCode).in(randF64(13)).check();
        op("Cast").attr("to", (long) DType.BOOL.onnxCode).in(randInt(DType.INT32, -2, 2, 13).cast(DType.FLOAT32)).check();
        op("Cast").attr("to", (long) DType.FLOAT32.onnxCode).in(randBool(9)).check();
        op("Cast").attr("to", (long) DType.INT64.onnxCode).in(randInt(DType.INT32, -99, 99, 13)).check();
        op("Cast").attr("to", (long) DType.UINT8.onnxCode).in(randInt(DType.INT32, 0, 255, 13)).check();
    }

    @Test
    void batchNormalization() {
        op("BatchNormalization").attr("epsilon", 1e-3f).in(rand(2, 3, 5, 7))
                .constant(rand(3)).constant(rand(3)).constant(rand(3)).constant(randIn(0.5, 2, 3)).check();
        op("BatchNormalization").in(rand(4, 13)).in(rand(13)).in(rand(13)).in(rand(13)).in(randIn(0.5, 2, 13)).check();
        op("BatchNormalization").in(rand(1, 5, 9)).in(rand(5)).in(rand(5)).in(rand(5)).in(randIn(0.5, 2, 5)).check();
    }

    @Test
    void expand() {
        op("Expand").in(rand(3, 1)).constant(longs(2, 3, 7)).check();
        op("Expand").in(rand(1, 13)).constant(longs(5, 1)).check();
        op("Expand").in(randInt(DType.INT64, -9, 9, 1)).constant(longs(4, 3)).check();
    }

    @Test
    void largeTensorIsParallelAndStillRight() {
        op("Add").in(rand(3, 160, 151)).in(rand(151)).check();
        op("Sigmoid").in(rand(70001)).target(AVX512).check();
    }
}
