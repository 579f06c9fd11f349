package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.ops.Bf16MatMul;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knobs;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code kiln.Bf16MatMul}'s native kernel (bf16 pair dot products on packed operands, fp32 sums), run
 * by the loop-IR interpreter, against the reference evaluator (the same bf16-rounded operands summed
 * exactly): within OpHarness's fp32 tolerance, since only the order of the fp32 sum differs, on odd
 * sizes and every config. And the reference against the plain float MatMul, within bf16's error.
 */
class Bf16MatMulOpsTest {
    private static OpHarness bf16() {
        return op(Bf16MatMul.OP).domain(Bf16MatMul.DOMAIN);
    }

    @Test
    void matchesTheReferenceOnOddSizes() {
        // K odd, N not a multiple of the lanes, M = 1, M not a multiple of the row block, a bias.
        bf16().in(rand(5, 7)).constant(rand(7, 19)).check();
        bf16().in(rand(1, 13)).constant(rand(13, 3)).constant(rand(3)).check();
        bf16().in(rand(7, 40)).constant(rand(40, 33)).constant(rand(33)).target(AVX512).check();
        bf16().in(rand(3, 2, 9)).constant(rand(9, 17)).target(AVX512).check();
        bf16().in(rand(9)).constant(rand(9, 5)).check();                         // 1-D A
        bf16().in(rand(13, 1)).constant(rand(1, 40)).target(NEON).check();       // K = 1: one half-empty pair
        bf16().in(rand(2, 70)).constant(rand(70, 16)).target(AVX512).check();   // 35 pairs: two vectors of 16 and 3 single pairs
    }

    @Test
    void everyConfigOfTheSpaceMatches() {
        Tensor a = rand(7, 15), b = rand(15, 37), bias = rand(37);
        OpHarness h = bf16().in(a).constant(b).constant(bias).target(AVX2);
        ConfigSpace space = OpInventory.space(h.graph().nodes().get(0), h.graph(), AVX2);
        assertTrue(space.knob("tile") != null && space.knob("loop_order") != null, space.toString());
        assertEquals(List.of(1L, 2L, 4L), space.knob("k_unroll").values(), "K = 15: 8 pairs");
        for (long i = 0; i < space.size(); i++) {
            Config c = space.get(i);
            bf16().in(a).constant(b).constant(bias).target(AVX2).check(Knobs.of(c));
        }
    }

    @Test
    void kernelUsesThePairDotProductOnPackedWordsOfTheWeight() {
        OpHarness h = bf16().in(rand(4, 16)).constant(rand(16, 32)).target(AVX512).check();
        String ir = dev.kiln.irlow.Printer.print(h.kernel().func());
        assertTrue(ir.toLowerCase().contains("dot2_bf16") && ir.toLowerCase().contains("pair_bf16"), ir);
        // The weight packed into [N/16][K/2][16] words of two bf16 (two bytes per weight) for 16 lanes.
        assertTrue(h.kernel().inputs().get(1).endsWith("__bf16x16"), h.kernel().inputs().toString());
        assertTrue(OpInventory.isPackedBf16Weights(h.kernel().inputs().get(1)));
        assertEquals(2 * 8 * 16, h.kernel().func().params().get(1).size());
    }

    /**
     * The bf16 product against the float one: rounding each operand to bf16 (8-bit significand) moves it
     * by at most 2^-9 relative, so each product by at most 2^-8 + 2^-18 relative, and the sum by at most
     * that times sum_k |a_k b_k|, plus the fp32 sums' own error (K 2^-24 of the same).
     */
    @Test
    void referenceIsTheFloatProductWithinBf16Error() {
        int m = 6, k = 301, n = 23;
        Tensor a = randIn(-3, 3, m, k), b = randIn(-1, 1, k, n);
        Graph g = bf16().in(a).constant(b).graph();
        Tensor got = Evaluator.run(g, Map.of("x0", a)).get(g.outputs().getFirst());
        float[] av = a.floats(), bv = b.floats(), y = got.floats();
        double worst = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = 0, magnitude = 0;
                for (int kk = 0; kk < k; kk++) {
                    exact += (double) av[i * k + kk] * bv[kk * n + j];
                    magnitude += Math.abs((double) av[i * k + kk] * bv[kk * n + j]);
                }
                double bound = (0x1p-8 + 0x1p-18 + k * 0x1p-24) * magnitude;
                double err = Math.abs(y[i * n + j] - exact);
                assertTrue(err <= bound, "element " + i + "," + j + ": error " + err + " > bound " + bound);
                worst = Math.max(worst, err / magnitude);
            }
        }
        assertTrue(worst > 0x1p-16, "the operands really are rounded: worst relative error " + worst);
    }

    @Test
    void roundingIsToNearestEven() {
        assertEquals(1f, Bf16MatMul.round(Float.intBitsToFloat(0x3f808000)));
        assertEquals(Float.intBitsToFloat(0x3f820000), Bf16MatMul.round(Float.intBitsToFloat(0x3f818000)));
        assertEquals(Float.intBitsToFloat(0x3f810000), Bf16MatMul.round(Float.intBitsToFloat(0x3f808001)));
        assertTrue(Float.isNaN(Bf16MatMul.round(Float.NaN)));
    }
}
