package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import org.junit.jupiter.api.Test;

/** Copies and data movement against the reference evaluator. */
class MovementOpsTest {
    @Test
    void copies() {
        op("Reshape").in(rand(2, 3, 7)).constant(longs(7, -1)).check();
        op("Reshape").in(randInt(DType.INT64, -9, 9, 6)).constant(longs(2, 3)).check();
        op("Flatten").attr("axis", 2L).in(rand(2, 3, 5, 1)).check();
        op("Squeeze").in(rand(1, 13, 1)).constant(longs(0)).check();
        op("Squeeze").opset(11).ints("axes", 2).in(rand(3, 13, 1)).check();
        op("Unsqueeze").in(rand(13, 3)).constant(longs(0, 3)).check();
        op("Identity").in(randBool(3, 5)).check();
        op("Identity").in(randF64(7)).check();
        op("Dropout").in(rand(4, 9)).check();
        op("Dropout").in(rand(4, 9)).outputs("y", "mask").check();
        op("Dropout").opset(7).in(rand(4, 9)).outputs("y", "mask").check();
    }

    @Test
    void transpose() {
        op("Transpose").in(rand(3, 7)).check();
        op("Transpose").ints("perm", 0, 2, 3, 1).in(rand(2, 3, 5, 7)).check();
        op("Transpose").ints("perm", 2, 0, 1).in(randInt(DType.INT32, -9, 9, 4, 1, 13)).check();
        op("Transpose").ints("perm", 1, 0, 2).in(rand(13, 40, 3)).target(AVX512).check();
    }

    @Test
    void concat() {
        op("Concat").attr("axis", 1L).in(rand(2, 3, 5)).in(rand(2, 1, 5)).in(rand(2, 4, 5)).check();
        op("Concat").attr("axis", 0L).in(rand(3, 5)).in(rand(1, 5)).check();
        op("Concat").attr("axis", -1L).in(rand(3, 5)).in(rand(3, 8)).sameAs(0).check();
        op("Concat").attr("axis", 0L).in(rand(13)).check();
        op("Concat").attr("axis", 1L).in(randInt(DType.INT64, -9, 9, 2, 3)).constant(randInt(DType.INT64, -9, 9, 2, 0))
                .constant(randInt(DType.INT64, -9, 9, 2, 2)).check();
        // A detection neck's concat of feature maps along channels, batch 2 and batch 1, as copies on a CPU.
        op("Concat").attr("axis", 1L).in(rand(2, 3, 4, 4)).in(rand(2, 5, 4, 4)).in(rand(2, 1, 4, 4)).target(AVX512).check();
        op("Concat").attr("axis", 1L).in(rand(1, 4, 6, 6)).in(rand(1, 4, 6, 6)).sameAs(0).in(rand(1, 2, 6, 6)).check();
    }

    @Test
    void split() {
        op("Split").attr("axis", 1L).in(rand(2, 6, 5)).outputs("a", "b", "c").check();
        op("Split").attr("axis", 0L).in(rand(7, 3)).constant(longs(2, 5)).outputs("a", "b").check();
        op("Split").opset(11).attr("axis", -1L).ints("split", 1, 4, 2).in(rand(3, 7)).outputs("a", "b", "c").check();
        op("Split").opset(18).attr("axis", 0L).attr("num_outputs", 3L).in(rand(7)).outputs("a", "b", "c").check();
    }

    @Test
    void slice() {
        op("Slice").in(rand(5, 13)).constant(longs(1, 2)).constant(longs(4, 11)).check();
        op("Slice").in(rand(5, 13)).constant(longs(-3)).constant(longs(100)).constant(longs(1)).check();
        op("Slice").in(rand(5, 13)).constant(longs(12, 4)).constant(longs(0, -100)).constant(longs(1, 0)).constant(longs(-3, -2)).check();
        op("Slice").in(rand(2, 9, 7)).constant(longs(1, 0)).constant(longs(9, 7)).constant(longs(1, 2)).constant(longs(2, 3)).check();
        op("Slice").opset(9).ints("starts", 0, 1).ints("ends", 1, 1000).ints("axes", 0, 1).in(rand(3, 4)).check();
        op("Slice").in(randInt(DType.INT64, -9, 9, 10)).constant(longs(2)).constant(longs(-1)).check();
    }

    @Test
    void gather() {
        op("Gather").in(rand(5, 7)).in(randInt(DType.INT64, -5, 4, 3)).check();
        op("Gather").attr("axis", 1L).in(rand(2, 7, 3)).in(randInt(DType.INT32, -7, 6, 2, 4)).check();
        op("Gather").attr("axis", -1L).in(rand(2, 7, 13)).in(randInt(DType.INT64, -13, 12, 5)).check();
        op("Gather").in(rand(11, 9)).constant(Tensor.ofLongs(Shape.SCALAR, -2)).check();           // scalar index
        op("Gather").in(randInt(DType.INT64, -9, 9, 30, 4)).constant(randInt(DType.INT64, 0, 29, 3, 2)).check();
        op("Gather").in(rand(100, 32)).in(randInt(DType.INT64, 0, 99, 2, 6)).target(AVX512).check(); // embedding-like
    }

    @Test
    void tile() {
        op("Tile").in(rand(2, 3)).constant(longs(3, 2)).check();
        op("Tile").in(rand(1, 5, 1)).constant(longs(2, 1, 7)).check();
        op("Tile").in(randInt(DType.INT32, -9, 9, 3)).constant(longs(5)).check();
    }

    @Test
    void pad() {
        op("Pad").in(rand(3, 5)).constant(longs(1, 2, 0, 3)).check();
        op("Pad").in(rand(3, 5)).constant(longs(1, 2, 0, 3)).constant(scalar(1.5f)).check();
        op("Pad").in(rand(3, 5)).constant(longs(1, 2, 0, 3)).in(scalar(-4f)).check();        // run-time value
        op("Pad").attr("mode", "edge").in(rand(2, 3, 5)).constant(longs(0, 2, 1, 0, 1, 3)).check();
        op("Pad").attr("mode", "reflect").in(rand(2, 4, 5)).constant(longs(0, 2, 3, 0, 3, 4)).check();
        op("Pad").attr("mode", "reflect").in(rand(3, 2)).constant(longs(0, 5, 0, 4)).check();  // wider than the axis
        op("Pad").opset(19).attr("mode", "wrap").in(rand(3, 4)).constant(longs(2, 5, 1, 3)).check();
        op("Pad").in(rand(4, 6)).constant(longs(-1, 2, 0, -3)).check();                       // crop
        op("Pad").opset(18).in(rand(2, 3, 4)).constant(longs(1, 1)).none().constant(longs(-1)).check();
        op("Pad").opset(2).ints("pads", 0, 1, 1, 0).attr("value", 2f).in(rand(3, 3)).check();
        op("Pad").in(randInt(DType.INT64, -9, 9, 1, 3, 4, 4)).constant(longs(0, 0, 1, 1, 0, 0, 1, 1)).check();
    }

    @Test
    void constantOfShape() {
        op("ConstantOfShape").constant(longs(3, 7)).check();
        op("ConstantOfShape").tensorAttr("value", Tensor.ofLongs(new Shape(1), 7)).constant(longs(2, 13)).check();
        op("ConstantOfShape").tensorAttr("value", Tensor.ofFloats(new Shape(1), 2.5f)).constant(longs(40)).check();
    }
}
