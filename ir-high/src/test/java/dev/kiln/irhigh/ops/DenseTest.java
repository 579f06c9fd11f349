package dev.kiln.irhigh.ops;

import static dev.kiln.irhigh.ops.OpTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DenseTest {
    private static final Tensor A = f(dims(2, 3), 1, 2, 3, 4, 5, 6);
    private static final Tensor B = f(dims(3, 2), 7, 8, 9, 10, 11, 12);

    @Test
    void gemmPlain() {
        // [1 2 3; 4 5 6] x [7 8; 9 10; 11 12] = [58 64; 139 154]
        assertValues(run1(op("Gemm"), A, B), 58, 64, 139, 154);
    }

    @Test
    void gemmTransposesAlphaBetaAndBroadcastC() {
        Tensor at = f(dims(3, 2), 1, 4, 2, 5, 3, 6); // A^T
        Tensor bt = f(dims(2, 3), 7, 9, 11, 8, 10, 12); // B^T
        var spec = op("Gemm").attr("transA", 1).attr("transB", 1).attr("alpha", 2f).attr("beta", 0.5f);
        assertValues(run1(spec, at, bt, f(10, 20)), 121, 138, 283, 318);
        assertValues(run1(spec, at, bt, f(dims(2, 1), 10, 20)), 121, 133, 288, 318);
        assertValues(run1(spec, at, bt, scalar(4f)), 118, 130, 280, 310);
        assertValues(run1(op("Gemm").attr("transA", 1), at, B), 58, 64, 139, 154);
        assertValues(run1(op("Gemm").attr("transB", 1), A, bt), 58, 64, 139, 154);
    }

    @Test
    void matmulVectorsFollowNumpy() {
        Tensor v = f(1, 1, 1);
        Tensor rowTimesMatrix = run1(op("MatMul"), v, B);
        assertShape(rowTimesMatrix, 2);
        assertValues(rowTimesMatrix, 27, 30);
        Tensor matrixTimesColumn = run1(op("MatMul"), A, v);
        assertShape(matrixTimesColumn, 2);
        assertValues(matrixTimesColumn, 6, 15);
        Tensor dot = run1(op("MatMul"), f(1, 2, 3), f(4, 5, 6));
        assertShape(dot);
        assertValues(dot, 32);
    }

    @Test
    void matmulBroadcastsBatchAxes() {
        Random r = new Random(7);
        Tensor a = random(r, 2, 1, 2, 3), b = random(r, 3, 3, 4);
        Tensor y = run1(op("MatMul"), a, b);
        assertShape(y, 2, 3, 2, 4);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int m = 0; m < 2; m++)
                    for (int n = 0; n < 4; n++) {
                        double acc = 0;
                        for (int k = 0; k < 3; k++) acc += (double) a.floats()[(i * 2 + m) * 3 + k] * b.floats()[(j * 3 + k) * 4 + n];
                        assertEquals((float) acc, y.floats()[((i * 3 + j) * 2 + m) * 4 + n]);
                    }
    }

    @Test
    void matmulAccumulatesInDouble() {
        // 1e8 + 1 - 1e8 in float32 accumulation would be 0; the reference keeps the 1.
        Tensor y = run1(op("MatMul"), f(dims(1, 3), 1e8f, 1, -1e8f), f(dims(3, 1), 1, 1, 1));
        assertValues(y, 1);
    }

    @Test
    void matmulOnIntegersIsExact() {
        Tensor a = Tensor.ofLongs(new Shape(1, 2), 3_000_000_000L, 1), b = Tensor.ofLongs(new Shape(2, 1), 3, 1);
        Tensor y = run1(op("MatMul"), a, b);
        assertEquals(DType.INT64, y.dtype());
        assertLongs(y, 9_000_000_001L);
    }
}
