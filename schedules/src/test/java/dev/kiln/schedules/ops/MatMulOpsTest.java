package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.DType;
import org.junit.jupiter.api.Test;

/** MatMul (batched, broadcast, 1-D operands) and Gemm (transposes, alpha, beta, broadcast C) against the evaluator. */
class MatMulOpsTest {
    @Test
    void matmul2d() {
        op("MatMul").in(rand(4, 5)).in(rand(5, 16)).check();
        op("MatMul").in(rand(7, 13)).in(rand(13, 9)).check();            // nothing divides
        op("MatMul").in(rand(1, 13)).in(rand(13, 24)).target(AVX512).check();
        op("MatMul").in(rand(6, 3)).constant(rand(3, 1)).check();
        op("MatMul").in(rand(12, 8)).constant(rand(8, 33)).check();
    }

    /** Weights of 16 columns or more that no panel divides are packed with zero columns, which the output leaves out. */
    @Test
    void weightsWithUnevenColumnsArePaddedToPanels() {
        op("MatMul").in(rand(5, 7)).constant(rand(7, 37)).check();
        op("MatMul").in(rand(2, 3, 12)).constant(rand(12, 100)).target(AVX512).check();
        op("MatMul").in(rand(4, 9)).constant(rand(9, 17)).target(NEON).check();
        op("Gemm").in(rand(3, 6)).constant(rand(6, 50)).constant(rand(50)).check();
        op("Gemm").attr("transB", 1L).attr("alpha", 0.5f).in(rand(4, 5)).constant(rand(21, 5)).check();
        op("Gemm").attr("transA", 1L).in(rand(6, 2)).constant(rand(6, 19)).check();
    }

    @Test
    void matmulVectors() {
        op("MatMul").in(rand(5)).in(rand(5, 7)).check();
        op("MatMul").in(rand(3, 5)).in(rand(5)).check();
        op("MatMul").in(rand(5)).in(rand(5)).check();
        op("MatMul").in(rand(2, 3, 5)).in(rand(5)).check();
        op("MatMul").in(rand(5)).in(rand(2, 5, 3)).check();
    }

    @Test
    void matmulBatchedAndBroadcast() {
        op("MatMul").in(rand(2, 3, 4, 5)).in(rand(2, 3, 5, 9)).check();
        op("MatMul").in(rand(2, 3, 4, 5)).in(rand(5, 9)).check();
        op("MatMul").in(rand(3, 1, 4, 5)).in(rand(2, 5, 17)).check();
        op("MatMul").in(rand(1, 4, 5)).in(rand(3, 5, 8)).check();
    }

    @Test
    void matmulOtherTypes() {
        op("MatMul").in(randF64(3, 7)).in(randF64(7, 5)).check();
        op("MatMul").in(randInt(DType.INT32, -9, 9, 3, 7)).in(randInt(DType.INT32, -9, 9, 7, 10)).check();
        op("MatMul").in(randInt(DType.INT64, -9, 9, 2, 3, 7)).in(randInt(DType.INT64, -9, 9, 7, 4)).check();
    }

    @Test
    void matmulBigEnoughToRunInParallel() {
        op("MatMul").in(rand(64, 32)).constant(rand(32, 40)).check();
    }

    @Test
    void gemmWithTransposedBReducesInLanes() {
        op("Gemm").attr("transB", 1L).in(rand(3, 48)).constant(rand(10, 48)).constant(rand(10)).check();   // 16 lanes
        op("Gemm").attr("transB", 1L).in(rand(2, 24)).constant(rand(7, 24)).check();                      // 8 lanes
        op("Gemm").attr("transA", 1L).attr("transB", 1L).attr("alpha", 2f).in(rand(32, 5)).in(rand(1, 32)).in(rand(5, 1)).check();
        op("Gemm").attr("transB", 1L).in(rand(1, 128)).constant(rand(12, 128)).constant(rand(12)).target(AVX512).check();
        op("Gemm").attr("transB", 1L).in(randF64(2, 16)).in(randF64(3, 16)).check();
    }

    @Test
    void gemm() {
        op("Gemm").in(rand(4, 5)).constant(rand(5, 16)).constant(rand(16)).check();
        op("Gemm").attr("transB", 1L).in(rand(3, 13)).constant(rand(7, 13)).constant(rand(7)).check();
        op("Gemm").attr("transA", 1L).in(rand(13, 3)).constant(rand(13, 9)).check();
        op("Gemm").attr("transA", 1L).attr("transB", 1L).attr("alpha", 0.5f).attr("beta", 2f)
                .in(rand(6, 5)).in(rand(9, 6)).in(rand(5, 9)).check();
        op("Gemm").attr("alpha", 1.5f).in(rand(5, 4)).in(rand(4, 3)).check();
        op("Gemm").in(rand(5, 4)).in(rand(4, 3)).in(rand(5, 1)).check();          // C broadcast along columns
        op("Gemm").in(rand(5, 4)).in(rand(4, 3)).constant(scalar(0.25f)).check(); // scalar C
        op("Gemm").attr("beta", 0f).in(rand(5, 4)).in(rand(4, 3)).in(rand(5, 3)).check();
        op("Gemm").in(randF64(2, 3)).in(randF64(3, 4)).in(randF64(4)).check();
    }
}
