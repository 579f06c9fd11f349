package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.transform.Vars;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The blocked conv (weights packed over output channels): its loop structure, the packing, and
 * its results on odd shapes against the reference evaluator (co not a multiple of 16, strides,
 * pads, dilations, 1x1, 1-D, bias) for both vector widths.
 */
class ConvScheduleTest {
    private static List<String> loops(Kernel k) {
        return Vars.loops(k.func().body()).stream().map(f -> f.var().name() + ":" + f.kind() + ":" + f.extent().toString()
                .replaceAll(".*value=(\\d+).*", "$1")).toList();
    }

    @Test
    void blockedConvKeepsARegisterBlockOfColumnsAcrossTheReduction() {
        OpHarness h = op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 8, 18, 28)).constant(rand(20, 8, 3, 3)).target(AVX512).check();
        List<String> l = loops(h.kernel());
        int at = l.indexOf("conv_blocked.i0.conv_blocked.i1.f.conv_blocked.i2.f:PARALLEL:36");
        assertTrue(at >= 0, l.toString());
        // Each tile of 14 columns x 16 lanes is zeroed right before its reduction (decompose_reduction),
        // then accumulated with the reduce loops outside the register block.
        assertEquals(List.of("conv_blocked.i3.o:SERIAL:2", "conv_blocked.i3.i.zero:UNROLLED:14", "conv_blocked.i4.zero:VECTORIZED:16",
                "rc:SERIAL:8", "rk0:SERIAL:3", "rk1:SERIAL:3", "conv_blocked.i3.i:UNROLLED:14", "conv_blocked.i4:VECTORIZED:16"),
                l.subList(at + 1, at + 9));
        assertTrue(l.stream().noneMatch(x -> x.startsWith("conv_blocked") && x.contains(".init")), "no separate init nest: " + l);
        assertTrue(h.kernel().inputs().contains("c1__packed16"), h.kernel().inputs().toString());
    }

    @Test
    void theNchwConversionWalksTheSixteenChannelsOfABlockInsideEachRow() {
        List<String> l = loops(op("Conv").in(rand(1, 4, 6, 28)).constant(rand(32, 4, 3, 3)).constant(rand(32)).target(AVX512).check().kernel());
        int at = l.indexOf("y.i1.i:SERIAL:16");
        assertTrue(at > 0, l.toString());
        assertEquals(List.of("y.i2:SERIAL:4", "y.i1.i:SERIAL:16", "y.i3:VECTORIZED:26"), l.subList(at - 1, at + 2));
    }

    @Test
    void shortRowsTakeTwoChannelBlocksIntoTheTile() {
        OpHarness h = op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 8, 7, 7)).constant(rand(64, 8, 3, 3)).target(AVX512).check();
        List<String> l = loops(h.kernel());
        int at = l.indexOf("conv_blocked.i1.i:UNROLLED:2");
        assertTrue(at > 0, l.toString());
        assertEquals(List.of("rk1:SERIAL:3", "conv_blocked.i1.i:UNROLLED:2", "conv_blocked.i3:UNROLLED:7", "conv_blocked.i4:VECTORIZED:16"),
                l.subList(at - 1, at + 3));
        op("Conv").in(rand(1, 8, 5, 5)).constant(rand(48, 8, 1, 1)).constant(rand(48)).target(AVX512).check(); // 3 blocks: no pair
    }

    @Test
    void avx2UsesNarrowerRegisterBlocks() {
        // 16 lanes take two ymm registers each: at most 6 columns fit in 16 registers.
        List<String> l = loops(op("Conv").in(rand(1, 4, 5, 30)).constant(rand(16, 4, 1, 3)).check().kernel());
        assertTrue(l.contains("conv_blocked.i3.i:UNROLLED:4"), l.toString());
    }

    @Test
    void packingPutsSixteenOutputChannelsInTheLastAxisAndZeroFillsTheRest() {
        float[] w = new float[18 * 2 * 1];
        for (int i = 0; i < w.length; i++) w[i] = i + 1;
        Tensor p = Conv.packWeights(Tensor.ofFloats(new Shape(18, 2, 1), w), new long[] {18, 2, 1}, 16);
        assertEquals(new Shape(2, 2, 1, 16), p.shape());
        float[] v = p.floats();
        assertEquals(w[(5 * 2 + 1)], v[(0 * 2 + 1) * 16 + 5]);   // co 5, ci 1
        assertEquals(w[(17 * 2 + 0)], v[(1 * 2 + 0) * 16 + 1]);  // co 17, ci 0
        assertEquals(0f, v[(1 * 2 + 1) * 16 + 2]);               // co 18: padding
    }

    @Test
    void blockedConvMatchesTheEvaluatorOnOddShapes() {
        for (var t : List.of(AVX2, AVX512)) {
            op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 3, 9, 11)).constant(rand(24, 3, 3, 3)).constant(rand(24)).target(t).check();
            op("Conv").ints("pads", 3, 3, 3, 3).ints("strides", 2, 2).in(rand(1, 3, 17, 19)).constant(rand(5, 3, 7, 7)).target(t).check();
            op("Conv").ints("pads", 2, 1, 0, 2).ints("dilations", 2, 2).in(rand(2, 4, 10, 13)).constant(rand(33, 4, 3, 2)).target(t).check();
            op("Conv").in(rand(1, 20, 7, 7)).constant(rand(40, 20, 1, 1)).constant(rand(40)).target(t).check();   // pointwise, flattened
            op("Conv").ints("strides", 2, 2).in(rand(1, 8, 13, 13)).constant(rand(16, 8, 1, 1)).target(t).check(); // strided 1x1
            op("Conv").ints("pads", 1, 1).in(rand(2, 3, 29)).constant(rand(17, 3, 3)).target(t).check();           // 1-D, prime row
        }
    }

    @Test
    void stridedPlainConvsReadTheirInputSplitIntoPhases() {
        // Depthwise and grouped convs keep the plain form; a strided last axis reads a phase-split copy.
        OpHarness h = op("Conv").attr("group", 6L).ints("pads", 1, 1, 1, 1).ints("strides", 2, 2).in(rand(1, 6, 13, 21))
                .constant(rand(6, 1, 3, 3)).target(AVX512).check();
        assertTrue(loops(h.kernel()).stream().anyMatch(l -> l.startsWith("phases")), loops(h.kernel()).toString());
        op("Conv").attr("group", 4L).ints("pads", 2, 1, 0, 3).ints("strides", 1, 3).ints("dilations", 1, 2).in(rand(2, 4, 9, 40))
                .constant(rand(4, 1, 2, 3)).constant(rand(4)).check();
        op("Conv").attr("group", 2L).ints("strides", 2, 2).in(rand(1, 4, 12, 35)).constant(rand(6, 2, 3, 3)).check();
        // 12 output columns computed as 16 and cropped (Conv.vectorWidth), with and without bias.
        OpHarness wide = op("Conv").attr("group", 5L).ints("pads", 1, 1, 1, 1).ints("strides", 2, 2).in(rand(1, 5, 9, 24))
                .constant(rand(5, 1, 3, 3)).target(AVX512).check();
        assertTrue(loops(wide.kernel()).contains("conv.i3:VECTORIZED:16"), loops(wide.kernel()).toString());
        op("Conv").attr("group", 5L).ints("strides", 2, 2).in(rand(1, 5, 9, 24)).constant(rand(5, 1, 3, 3)).constant(rand(5)).check();
        op("Conv").attr("group", 3L).ints("pads", 1, 1).ints("strides", 2).in(rand(1, 3, 31)).constant(rand(3, 1, 4)).check();
    }

    @Test
    void aWeightSharedByTwoConvsIsPackedOnce() {
        OpHarness h = op("Conv").in(rand(1, 2, 4, 4)).constant(rand(3, 2, 1, 1));
        var g = h.graph();
        var node = g.nodes().get(0);
        Kernel a = OpInventory.lower(node, g, AVX512), b = OpInventory.lower(node, g, AVX512);
        assertEquals(a.inputs(), b.inputs());
        assertEquals(1, g.initializers().keySet().stream().filter(n -> n.contains("__packed16")).count());
    }
}
