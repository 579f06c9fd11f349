package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Int8Conv;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import org.junit.jupiter.api.Test;

/**
 * {@code kiln.Int8Conv}'s native kernel (pixels in lanes: the input packed into words of 4 channels
 * per padded pixel, byte dot products against broadcast weight words, the zero-point correction)
 * against the reference evaluator, run by the loop-IR interpreter: exact on odd sizes (C not a
 * multiple of 4, W not a multiple of the lanes), pads, strides, dilations, 1x1/3x3/7x7, int8 and
 * uint8 inputs, zero points absent, constant, at run time and per output channel, and every config.
 */
class Int8ConvOpsTest {
    private static Tensor u8(int... dims) {
        return randInt(DType.UINT8, 0, 255, dims);
    }

    private static Tensor s8(int... dims) {
        return randInt(DType.INT8, -128, 127, dims);
    }

    private static OpHarness conv() {
        return op(Int8Conv.OP).domain(Int8Conv.DOMAIN);
    }

    @Test
    void exactOnOddSizesPadsAndStrides() {
        conv().in(u8(1, 5, 9, 19)).constant(s8(3, 5, 3, 3)).in(u8()).ints("pads", 1, 1, 1, 1).target(AVX512).check();
        conv().in(s8(2, 3, 11, 13)).constant(s8(1, 3, 7, 7)).in(s8()).ints("pads", 3, 3, 3, 3).ints("strides", 2, 2).target(AVX512).check();
        conv().in(u8(1, 8, 6, 33)).constant(s8(7, 8, 1, 1)).in(u8()).target(AVX512).check();                  // 1x1, W past two vectors
        conv().in(u8(1, 6, 7, 7)).constant(s8(17, 6, 3, 3)).ints("pads", 0, 2, 1, 0).ints("strides", 1, 2).check(); // no zero point, AVX2
        conv().in(s8(1, 4, 10, 12)).constant(s8(5, 4, 3, 2)).in(s8()).ints("dilations", 2, 3).ints("pads", 2, 1, 0, 2).target(AVX512).check();
        conv().in(u8(1, 2, 5, 5)).constant(s8(1, 2, 3, 3)).constant(u8()).ints("strides", 3, 3).target(AVX512).check(); // M = 1, constant zp
    }

    /** Rows narrower than a vector: the default packs pixels of several rows into one vector ("flat"). */
    @Test
    void narrowRowsFillVectorsAcrossRows() {
        OpHarness h = conv().in(u8(1, 9, 7, 7)).constant(s8(5, 9, 3, 3)).in(u8()).ints("pads", 1, 1, 1, 1).target(AVX512);
        ConfigSpace space = OpInventory.space(h.graph().nodes().get(0), h.graph(), AVX512);
        assertEquals(1, space.knob("pixels").defaultValue(), "7x7 output on 16 lanes: flat by default");
        h.check();
        conv().in(s8(2, 6, 14, 13)).constant(s8(3, 6, 3, 3)).in(s8()).ints("pads", 1, 1, 1, 1).ints("strides", 2, 2).target(AVX512).check();
        conv().in(u8(1, 5, 14, 14)).constant(s8(4, 5, 1, 1)).in(u8()).ints("strides", 2, 2).target(AVX512).check();
        OpHarness d = conv().in(u8(1, 3, 9, 11)).constant(s8(2, 3, 2, 3)).in(u8()).ints("dilations", 2, 2).ints("strides", 2, 1)
                .ints("pads", 1, 2, 1, 0).target(AVX512);
        for (long pixels : new long[] {0, 1}) {
            Config c = OpInventory.space(d.graph().nodes().get(0), d.graph(), AVX512).defaults().with("pixels", pixels);
            d.check(Knobs.of(c));
        }
    }

    @Test
    void weightZeroPointsPerChannelAndUint8Weights() {
        Tensor w = Tensor.generate(DType.UINT8, new Shape(6, 3, 3, 3), i -> 60 + (i * 37) % 120);
        conv().in(u8(1, 3, 8, 17)).constant(w).in(u8()).constant(Tensor.generate(DType.UINT8, new Shape(6), i -> 100 + i * 5))
                .ints("pads", 1, 1, 1, 1).target(AVX512).check();
        conv().in(s8(1, 3, 8, 17)).constant(s8(4, 3, 3, 3)).in(s8()).constant(Tensor.generate(DType.INT8, new Shape(), i -> 0)).check();
    }

    @Test
    void extremeValuesAreExact() {
        conv().in(Tensor.generate(DType.UINT8, new Shape(1, 9, 5, 18), i -> 255))
                .constant(Tensor.generate(DType.INT8, new Shape(3, 9, 3, 3), i -> i % 2 == 0 ? -128 : 127))
                .in(Tensor.generate(DType.UINT8, new Shape(), i -> 0)).ints("pads", 1, 1, 1, 1).target(AVX512).check();
        conv().in(Tensor.generate(DType.INT8, new Shape(1, 5, 4, 4), i -> -128))
                .constant(Tensor.generate(DType.INT8, new Shape(2, 5, 2, 2), i -> -128))
                .in(Tensor.generate(DType.INT8, new Shape(), i -> 127)).ints("pads", 1, 0, 0, 1).check();
    }

    @Test
    void everyConfigOfTheSpaceIsExact() {
        Tensor x = u8(1, 5, 6, 37), w = s8(7, 5, 3, 3), zx = u8();
        OpHarness h = conv().in(x).constant(w).in(zx).ints("pads", 1, 1, 1, 1).target(AVX2);
        ConfigSpace space = OpInventory.space(h.graph().nodes().get(0), h.graph(), AVX2);
        assertTrue(space.knob("tile") != null && space.knob("loop_order") != null, space.toString());
        for (long i = 0; i < space.size(); i++) {
            Config c = space.get(i);
            conv().in(x).constant(w).in(zx).ints("pads", 1, 1, 1, 1).target(AVX2).check(Knobs.of(c));
        }
    }

    @Test
    void kernelUsesTheByteDotProductOnPackedWords() {
        OpHarness h = conv().in(u8(1, 16, 8, 32)).constant(s8(8, 16, 3, 3)).in(u8()).ints("pads", 1, 1, 1, 1).target(AVX512).check();
        String ir = dev.kiln.irlow.Printer.print(h.kernel().func());
        assertTrue(ir.contains("dot4_u8s8") || ir.contains("DOT4_U8S8"), ir);
        // The weight packed into [M][C/4][KH][KW] words: one byte per weight.
        assertEquals(8 * 4 * 3 * 3, h.kernel().func().params().get(1).size());
        // Named so that kiln compile reports it as int8 weights.
        assertTrue(OpInventory.isPackedInt8Weights(h.kernel().inputs().get(1)), h.kernel().inputs().toString());
        assertTrue(!OpInventory.isPackedInt8Weights(h.kernel().inputs().get(2)), "the per-channel sums are int32");
    }
}
