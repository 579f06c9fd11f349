package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.Int8MatMul;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@code kiln.Int8MatMul}'s native kernel (byte dot products on packed operands, with the zero-point
 * corrections) against the reference evaluator, run by the loop-IR interpreter: exact on odd sizes,
 * every dtype pairing, zero points absent, per tensor and per column, and every config of its space.
 */
class Int8MatMulOpsTest {
    private static Tensor u8(int... dims) {
        return randInt(DType.UINT8, 0, 255, dims);
    }

    private static Tensor s8(int... dims) {
        return randInt(DType.INT8, -128, 127, dims);
    }

    private static OpHarness int8() {
        return op(Int8MatMul.OP).domain(Int8MatMul.DOMAIN);
    }

    @Test
    void exactOnOddSizesForEveryDtypePairing() {
        // K not a multiple of 4, N not a multiple of the lanes, M = 1, M not a multiple of the row block.
        int8().in(u8(5, 7)).constant(s8(7, 19)).in(u8()).constant(s8()).check();
        int8().in(s8(1, 13)).constant(s8(13, 3)).in(s8()).constant(s8(3)).check();
        int8().in(u8(7, 4)).constant(u8(4, 33)).in(u8()).constant(u8(33)).target(AVX512).check();
        int8().in(s8(3, 2, 9)).constant(u8(9, 17)).in(s8()).constant(u8()).target(AVX512).check();
        int8().in(u8(9)).constant(s8(9, 5)).check();                                  // 1-D A, no zero points
        int8().in(s8(13, 6)).constant(u8(6, 40)).none().constant(u8(40)).target(NEON).check();
        int8().in(u8(2, 1)).constant(s8(1, 1)).in(u8()).none().check();
    }

    /** Extreme bytes: every product at its largest magnitude, the zero points at theirs. */
    @Test
    void extremeValuesAreExact() {
        int8().in(Tensor.generate(DType.UINT8, new dev.kiln.irhigh.Shape(3, 11), i -> 255))
                .constant(Tensor.generate(DType.INT8, new dev.kiln.irhigh.Shape(11, 20), i -> i % 2 == 0 ? -128 : 127))
                .in(Tensor.generate(DType.UINT8, new dev.kiln.irhigh.Shape(), i -> 0))
                .constant(Tensor.generate(DType.INT8, new dev.kiln.irhigh.Shape(20), i -> i % 3 == 0 ? 127 : -128)).target(AVX512).check();
        int8().in(Tensor.generate(DType.INT8, new dev.kiln.irhigh.Shape(2, 6), i -> -128))
                .constant(Tensor.generate(DType.UINT8, new dev.kiln.irhigh.Shape(6, 8), i -> 255))
                .in(Tensor.generate(DType.INT8, new dev.kiln.irhigh.Shape(), i -> 127))
                .constant(Tensor.generate(DType.UINT8, new dev.kiln.irhigh.Shape(), i -> 0)).check();
    }

    @Test
    void everyConfigOfTheSpaceIsExact() {
        Tensor a = s8(7, 15), b = u8(15, 37), za = s8(), zb = u8(37);
        OpHarness h = int8().in(a).constant(b).in(za).constant(zb).target(AVX2);
        ConfigSpace space = OpInventory.space(h.graph().nodes().get(0), h.graph(), AVX2);
        assertTrue(space.knob("tile") != null && space.knob("loop_order") != null, space.toString());
        assertEquals(java.util.List.of(1L, 2L, 4L), space.knob("k_unroll").values(), "K = 15: 4 steps of 4");
        for (long i = 0; i < space.size(); i++) {
            Config c = space.get(i);
            int8().in(a).constant(b).in(za).constant(zb).target(AVX2).check(Knobs.of(c));
        }
    }

    @Test
    void kernelUsesTheByteDotProductOnPackedWordsOfTheWeight() {
        OpHarness h = int8().in(u8(4, 16)).constant(s8(16, 32)).in(u8()).constant(s8()).target(AVX512).check();
        String ir = dev.kiln.irlow.Printer.print(h.kernel().func());
        assertTrue(ir.contains("dot4_u8s8") || ir.contains("DOT4_U8S8"), ir);
        // The weight packed into [N/16][K/4][16] words of 4 bytes (one byte per weight) for 16 lanes.
        assertTrue(h.kernel().inputs().get(1).endsWith("__int8x16"), h.kernel().inputs().toString());
        assertEquals(2 * 4 * 16, h.kernel().func().params().get(1).size());
    }

    @Test
    void defaultTileFillsTheRegistersWithoutSpilling() {
        Int8MatMulKernel.Tile t = Int8MatMulKernel.heuristic(Int8MatMulKernel.tiles(128, 192, 28));
        assertEquals(new Int8MatMulKernel.Tile(6, 4), t);
        assertEquals(new Int8MatMulKernel.Tile(1, 4), Int8MatMulKernel.heuristic(Int8MatMulKernel.tiles(1, 192, 28)));
        Int8MatMulKernel.Tile avx2 = Int8MatMulKernel.heuristic(Int8MatMulKernel.tiles(128, 384, 14));
        assertTrue(avx2.rows() * avx2.vecs() <= 14, avx2.toString());
    }

    @Test
    void dot4MatchesItsDefinition() {
        Random r = new Random(5);
        for (int i = 0; i < 1000; i++) {
            int acc = r.nextInt(), a = r.nextInt(), b = r.nextInt();
            long s = acc;
            for (int j = 0; j < 4; j++) s += (long) ((a >> (8 * j)) & 0xff) * (byte) (b >> (8 * j));
            assertEquals((int) s, Intrinsic.dot4(acc, a, b));
        }
    }
}
