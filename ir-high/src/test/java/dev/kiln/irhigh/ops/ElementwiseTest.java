package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ElementwiseTest {
    private static final Tensor X = f(-2, -0.5f, 0, 0.5f, 2);

    @Test
    void unaryOpsMatchHandValues() {
        assertValues(run1(op("Relu"), X), 0, 0, 0, 0.5f, 2);
        assertValues(run1(op("LeakyRelu").attr("alpha", 0.1f), X), 1e-7, -0.2f, -0.05f, 0, 0.5f, 2);
        assertValues(run1(op("LeakyRelu"), f(-100)), 1e-6, -1);
        assertValues(run1(op("Sigmoid"), f(0, 2, -800)), 0.5f, 0.880797078f, 0);
        assertValues(run1(op("Tanh"), f(0, 1)), 0, 0.7615941559f);
        assertValues(run1(op("Exp"), f(0, 1)), 1, 2.718281828f);
        assertValues(run1(op("Log"), f(1, (float) Math.E)), 1e-7, 0, 1);
        assertValues(run1(op("Neg"), X), 2, 0.5f, -0f, -0.5f, -2);
        assertValues(run1(op("Abs"), X), 2, 0.5f, 0, 0.5f, 2);
        assertValues(run1(op("Sqrt"), f(4, 2)), 2, 1.414213562f);
        assertValues(run1(op("Reciprocal"), f(4, -0.5f)), 0.25f, -2);
        assertValues(run1(op("Floor"), X), -2, -1, 0, 0, 2);
        assertValues(run1(op("Ceil"), X), -2, -0f, 0, 1, 2);
        // HardSigmoid: max(0, min(1, 0.2x + 0.5)); HardSwish: x * max(0, min(1, x/6 + 0.5)).
        assertValues(run1(op("HardSigmoid"), f(-3, 0, 1, 3)), 1e-7, 0, 0.5f, 0.7f, 1);
        assertValues(run1(op("HardSigmoid").attr("alpha", 0.5f).attr("beta", 0f), f(1)), 0.5f);
        assertValues(run1(op("HardSwish"), f(-4, -1, 0, 1, 4)), 1e-7, 0, -1 / 3f, 0, 2 / 3f, 4);
        assertLongs(run1(op("Not"), bools(dims(2), 0, 1)), 1, 0);
        assertLongs(run1(op("Neg"), i64(3, -4)), -3, 4);
        assertLongs(run1(op("Relu"), i64(3, -4)), 3, 0);
    }

    @Test
    void erfMatchesTabulatedValues() {
        double[][] table = {
            {0, 0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
            {2, 0.9953222650189527}, {2.5, 0.9995930479825550}, {3, 0.9999779095030014}, {4, 0.9999999845827421},
            {-1, -0.8427007929497149}, {10, 1},
        };
        for (double[] row : table) assertEquals(row[1], Erf.erf(row[0]), 1e-15, "erf(" + row[0] + ")");
        // Both sides of the switch between series and continued fraction agree.
        assertEquals(Erf.erf(Math.nextDown(2.5)), Erf.erf(2.5), 1e-15);
        assertValues(run1(op("Erf"), f(0.5f)), (float) Erf.erf(0.5));
    }

    @Test
    void broadcastingFollowsNumpy() {
        Random r = new Random(3);
        Tensor a = random(r, 2, 1, 3), b = random(r, 4, 1);
        Tensor y = run1(op("Sub"), a, b);
        assertShape(y, 2, 4, 3);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++)
                    assertEquals(a.floats()[i * 3 + k] - b.floats()[j], y.floats()[(i * 4 + j) * 3 + k]);
        assertShape(run1(op("Add"), scalar(1f), f(dims(2, 3), 1, 2, 3, 4, 5, 6)), 2, 3);
        assertShape(run1(op("Mul"), f(dims(3, 1), 1, 2, 3), f(dims(0), new float[0]).reshape(shape(1, 0))), 3, 0);
    }

    @Test
    void arithmetic() {
        assertValues(run1(op("Add"), f(1, 2), f(10, 20)), 11, 22);
        assertValues(run1(op("Div"), f(1, 3), f(4, -2)), 0.25f, -1.5f);
        assertValues(run1(op("Pow"), f(2, 9), f(3, 0.5f)), 8, 3);
        assertValues(run1(op("Pow"), f(2, 3), i64(2)), 4, 9);
        assertLongs(run1(op("Pow"), i64(2, -3), i64(10, 3)), 1024, -27);
        // Integer division truncates toward zero.
        assertLongs(run1(op("Div"), i64(7, -7, 7), i64(2, 2, -2)), 3, -3, -3);
        assertTrue(error(op("Div"), i64(1), i64(0)).contains("division by zero"));
        // Results wrap to the integer type's range.
        Tensor big = of(DType.INT32, dims(1), Integer.MAX_VALUE);
        assertLongs(run1(op("Add"), big, of(DType.INT32, dims(1), 1)), Integer.MIN_VALUE);
    }

    @Test
    void legacyBroadcastAlignsBAtAxis() {
        Tensor a = iota(2, 3, 2);
        Tensor y = run1(op("Add").opset(6).attr("broadcast", 1).attr("axis", 1), a, f(100, 200, 300));
        assertValues(y, 101, 102, 203, 204, 305, 306, 107, 108, 209, 210, 311, 312);
    }

    @Test
    void comparisonsAndLogic() {
        Tensor a = f(1, 2, 3), b = f(2);
        assertLongs(run1(op("Equal"), a, b), 0, 1, 0);
        assertLongs(run1(op("Less"), a, b), 1, 0, 0);
        assertLongs(run1(op("Greater"), a, b), 0, 0, 1);
        assertLongs(run1(op("LessOrEqual"), a, b), 1, 1, 0);
        assertLongs(run1(op("GreaterOrEqual"), a, b), 0, 1, 1);
        assertLongs(run1(op("Less"), f(Float.NaN), f(1)), 0);
        assertLongs(run1(op("Less"), of(DType.UINT64, dims(1), -1L), of(DType.UINT64, dims(1), 1)), 0);
        Tensor p = bools(dims(2, 2), 0, 0, 1, 1), q = bools(dims(2), 0, 1);
        assertLongs(run1(op("And"), p, q), 0, 0, 0, 1);
        assertLongs(run1(op("Or"), p, q), 0, 1, 1, 1);
        assertEquals(DType.BOOL, run1(op("Equal"), i64(1), i64(1)).dtype());
    }

    @Test
    void whereBroadcastsAllThree() {
        Tensor c = bools(dims(2, 1), 1, 0);
        Tensor y = run1(op("Where"), c, f(1, 2, 3), scalar(-1f));
        assertShape(y, 2, 3);
        assertValues(y, 1, 2, 3, -1, -1, -1);
        assertLongs(run1(op("Where"), bools(dims(2), 0, 1), i64(5, 6), i64(7, 8)), 7, 6);
    }

    @Test
    void variadicOps() {
        Tensor a = f(dims(2, 1), 1, 5), b = f(3, 4), c = scalar(2f);
        assertValues(run1(op("Sum"), a, b, c), 6, 7, 10, 11);
        assertValues(run1(op("Mean"), a, b, c), 2, 7 / 3f, 10 / 3f, 11 / 3f);
        assertValues(run1(op("Max"), a, b, c), 3, 4, 5, 5);
        assertValues(run1(op("Min"), a, b, c), 1, 1, 2, 2);
        assertValues(run1(op("Max"), f(1, Float.NaN)), 1, Float.NaN);
        assertValues(run1(op("Max"), f(1, 2), f(Float.NaN, 0)), Float.NaN, 2);
        assertValues(run1(op("Sum"), f(7)), 7);
        assertLongs(run1(op("Max"), i64(1, 9), i64(4, 2)), 4, 9);
    }

    @Test
    void clipBoundsAreAttributesBeforeOpset11AndInputsAfter() {
        Tensor x = f(-2, 0, 2);
        assertValues(run1(op("Clip").opset(6).attr("min", -1f).attr("max", 1f), x), -1, 0, 1);
        assertValues(run1(op("Clip").opset(6).attr("min", 0f), x), 0, 0, 2);
        assertValues(run1(op("Clip").opset(13), x, scalar(-1f), scalar(1f)), -1, 0, 1);
        assertValues(run1(op("Clip").opset(13), x, null, scalar(1f)), -2, 0, 1);
        assertValues(run1(op("Clip").opset(13), x), -2, 0, 2);
        assertLongs(run1(op("Clip").opset(13), i64(-5, 5, 50), scalar(0L), scalar(10L)), 0, 5, 10);
        assertTrue(error(op("Clip").opset(13), x, f(0, 1)).contains("needs a scalar"));
    }

    @Test
    void float16ResultsAreRoundedToHalfPrecision() {
        Tensor h = Tensor.of(DType.FLOAT16, shape(1), new float[] {1});
        Tensor y = run1(op("Div"), h, Tensor.of(DType.FLOAT16, shape(1), new float[] {3}));
        assertEquals(DType.FLOAT16, y.dtype());
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(1 / 3f)), y.floats()[0]);
    }
}
