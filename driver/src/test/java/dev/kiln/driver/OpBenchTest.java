package dev.kiln.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import org.junit.jupiter.api.Test;

/** The one-node models of {@code kiln bench --op}: shapes, FLOP counts, and errors for bad sizes. */
class OpBenchTest {
    @Test
    void matmulIsMxNxKWithAConstantWeight() {
        OpBench.Op o = OpBench.build("matmul", "4x8x16");
        ShapeInference.run(o.graph());
        assertEquals(Shape.of(4, 8), o.graph().value("Y").shape());
        assertEquals(Shape.of(16, 8), o.graph().initializers().get("B").shape());
        assertEquals(2.0 * 4 * 8 * 16, o.flops());
    }

    @Test
    void gemmBatchMatmulAndConvShapes() {
        OpBench.Op g = OpBench.build("gemm", "4x8x16");
        ShapeInference.run(g.graph());
        assertEquals(Shape.of(8, 16), g.graph().initializers().get("B").shape());   // transB: [N, K]
        assertEquals(Shape.of(4, 8), g.graph().value("Y").shape());
        OpBench.Op b = OpBench.build("batch_matmul", "3x4x8x16");
        ShapeInference.run(b.graph());
        assertEquals(Shape.of(3, 4, 8), b.graph().value("Y").shape());
        assertEquals(2.0 * 3 * 4 * 8 * 16, b.flops());
        OpBench.Op c = OpBench.build("conv2d", "1,3,10,10,8,3,3,2,1");
        ShapeInference.run(c.graph());
        assertEquals(Shape.of(1, 8, 5, 5), c.graph().value("Y").shape());
        assertEquals(2.0 * 8 * 5 * 5 * 3 * 3 * 3, c.flops());
    }

    @Test
    void matmulIntegerIsADynamicallyQuantizedLinear() {
        OpBench.Op o = OpBench.build("matmul_integer", "4x8x16");
        ShapeInference.run(o.graph());
        assertEquals(Shape.of(4, 8), o.graph().value("Y").shape());
        assertEquals(dev.kiln.irhigh.DType.INT32, o.graph().value("Y").dtype());
        assertEquals(dev.kiln.irhigh.DType.UINT8, o.graph().value("A").dtype());
        assertEquals(dev.kiln.irhigh.DType.INT8, o.graph().initializers().get("B").dtype());
        assertEquals(2.0 * 4 * 8 * 16, o.flops());
    }

    @Test
    void badShapesSayWhatIsExpected() {
        KilnException e = assertThrows(KilnException.class, () -> OpBench.build("matmul", "4x8"));
        assertTrue(e.getMessage().contains("MxNxK"), e.getMessage());
        e = assertThrows(KilnException.class, () -> OpBench.build("conv2d", "1,3,10,10"));
        assertTrue(e.getMessage().contains("N,C,H,W,CO,KH,KW,stride,pad"), e.getMessage());
        e = assertThrows(KilnException.class, () -> OpBench.build("matmul", "4xAx8"));
        assertTrue(e.getMessage().contains("'A' is not a number"), e.getMessage());
        e = assertThrows(KilnException.class, () -> OpBench.build("softmax", "4"));
        assertTrue(e.getMessage().contains("expected matmul"), e.getMessage());
    }
}
