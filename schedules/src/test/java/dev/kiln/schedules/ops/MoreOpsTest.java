package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import org.junit.jupiter.api.Test;

/** The less common ops added for the ONNX conformance suite, against the reference evaluator. */
class MoreOpsTest {
    @Test
    void bitShift() {
        for (DType t : new DType[] {DType.UINT8, DType.UINT16, DType.UINT32, DType.UINT64}) {
            int bits = t.byteSize * 8;
            for (String dir : new String[] {"LEFT", "RIGHT"}) {
                op("BitShift").attr("direction", dir).in(randInt(t, 0, 255, 3, 7)).in(randInt(t, 0, bits + 1, 3, 7)).check();
                op("BitShift").attr("direction", dir).in(randInt(t, 0, 1000, 13)).in(randInt(t, 0, 3, 1)).check();
            }
        }
    }

    @Test
    void isNanIsInf() {
        float[] v = {1, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 3, -2, Float.NaN, Float.POSITIVE_INFINITY};
        Tensor x = Tensor.ofFloats(new Shape(9), v);
        op("IsNaN").in(x).check();
        op("IsInf").in(x).check();
        op("IsInf").attr("detect_negative", 0L).in(x).check();
        op("IsInf").attr("detect_positive", 0L).in(x).check();
        op("IsNaN").in(Tensor.ofDoubles(new Shape(3), 1, Double.NaN, Double.POSITIVE_INFINITY)).check();
    }
}
