package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.AVX2;
import static dev.kiln.schedules.ops.OpHarness.AVX512;
import static dev.kiln.schedules.ops.OpHarness.op;
import static dev.kiln.schedules.ops.OpHarness.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Vars;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The blocked-layout ops (kiln.ConvNCHWc, pools, layout conversions) lowered with their default
 * schedules and run on the loop-IR interpreter against the reference evaluator, whose meaning of
 * each op is "unblock, apply the ONNX op, block" ({@link Blocked}).
 */
class NchwcOpsTest {
    static List<Target> targets() {
        return List.of(AVX512, AVX2);
    }

    /** Blocked input {@code [1, ceil(c/16), h, w, 16]} of c real channels (padding lanes random too: no op may read them). */
    private static Tensor blocked(int c, int h, int w) {
        return rand(1, (c + 15) / 16, h, w, 16);
    }

    /**
     * A blocked input whose padding lanes hold zeros, as ToBlocked writes them: a pool of
     * padding lanes is padding, which the evaluator's "block the NCHW result" makes zero.
     */
    private static Tensor clean(int c, int h, int w) {
        Tensor t = blocked(c, h, w);
        return Tensor.generate(t.dtype(), t.shape(), i -> {
            int lane = i % 16, block = i / (16 * h * w);
            return block * 16 + lane < c ? t.getDouble(i) : 0.0;
        });
    }

    private static OpHarness conv(int c, int m, int k, Tensor x) {
        return op("ConvNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", c).in(x).constant(rand(m, c, k, k));
    }

    @ParameterizedTest
    @MethodSource("targets")
    void denseConvs(Target t) {
        conv(32, 48, 3, blocked(32, 9, 10)).ints("pads", 1, 1, 1, 1).constant(rand(48)).target(t).check(); // whole blocks, bias
        conv(24, 20, 1, blocked(24, 7, 7)).target(t).check();                                              // 24 of 32 lanes read
        conv(3, 16, 3, blocked(3, 11, 11)).ints("strides", 2, 2).ints("pads", 1, 1, 1, 1).target(t).check(); // stem-like
        // An image in one block of its 3 channels (BlockLayout's narrow input), written in blocks of 16.
        conv(3, 20, 3, rand(1, 1, 11, 11, 3)).ints("strides", 2, 2).ints("pads", 1, 1, 1, 1).constant(rand(20)).target(t).check();
    }

    @ParameterizedTest
    @MethodSource("targets")
    void depthwiseConvs(Target t) {
        op("ConvNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 40).attr("group", 40).in(blocked(40, 12, 12))
                .constant(rand(40, 1, 3, 3)).constant(rand(40)).ints("pads", 1, 1, 1, 1).ints("strides", 2, 2).target(t).check();
        op("ConvNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 32).attr("group", 32).in(blocked(32, 14, 14))
                .constant(rand(32, 1, 3, 3)).ints("pads", 1, 1, 1, 1).target(t).check();
    }

    /** Grouped convs whose groups fill whole blocks: each output block reduces over its group's input blocks only. */
    @ParameterizedTest
    @MethodSource("targets")
    void groupedConvs(Target t) {
        op("ConvNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 64).attr("group", 4).in(blocked(64, 9, 9))
                .constant(rand(64, 16, 3, 3)).constant(rand(64)).ints("pads", 1, 1, 1, 1).target(t).check();
        op("ConvNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 64).attr("group", 2).in(blocked(64, 8, 8))
                .constant(rand(96, 32, 1, 1)).ints("strides", 2, 2).target(t).check();
    }

    @ParameterizedTest
    @MethodSource("targets")
    void pools(Target t) {
        op("MaxPoolNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 20).in(clean(20, 9, 9))
                .ints("kernel_shape", 3, 3).ints("strides", 2, 2).ints("pads", 1, 1, 1, 1).target(t).check();
        op("AveragePoolNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 16).in(blocked(16, 8, 8))
                .ints("kernel_shape", 3, 3).ints("pads", 1, 1, 1, 1).target(t).check();
        op("GlobalAveragePoolNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 40).in(clean(40, 5, 7)).target(t).check();
    }

    @ParameterizedTest
    @MethodSource("targets")
    void layoutConversions(Target t) {
        op("ToBlocked").domain(Blocked.DOMAIN).attr("block", 16).in(rand(1, 20, 5, 6)).target(t).check();
        op("FromBlocked").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 20).in(clean(20, 5, 6)).target(t).check();
    }

    /** Random points of the blocked conv's config space (tile width, reduce order, parallel) all compute the same. */
    @ParameterizedTest
    @MethodSource("targets")
    void randomConfigsOfTheConvSpace(Target t) {
        // Inputs in [-1, 1]: a 288-term float32 sum of products in [-4, 4] can be off by 2e-5 from the exact one.
        List<OpHarness> cases = List.of(
                op("ConvNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 32).in(OpHarness.randIn(-1, 1, 1, 2, 6, 12, 16))
                        .constant(OpHarness.randIn(-1, 1, 32, 32, 3, 3)).ints("pads", 1, 1, 1, 1).constant(rand(32)).target(t),
                conv(20, 16, 3, blocked(20, 7, 7)).ints("strides", 2, 2).ints("pads", 1, 1, 1, 1).target(t),
                op("ConvNCHWc").domain(Blocked.DOMAIN).attr("block", 16).attr("channels", 16).attr("group", 16)
                        .in(blocked(16, 8, 8)).constant(rand(16, 1, 3, 3)).constant(rand(16)).ints("pads", 1, 1, 1, 1).target(t));
        java.util.Random rng = new java.util.Random(5);
        for (OpHarness h : cases) {
            var g = h.graph();
            var space = OpInventory.space(g.nodes().getFirst(), g, t);
            assertTrue(space.knobs().stream().anyMatch(k -> k.name().endsWith("tile_cols")), space.toString());
            for (int i = 0; i < 6; i++) {
                var config = space.random(rng);
                Knobs k = Knobs.of(config);
                h.check(k);
                assertEquals(config, k.config(), "every knob declared, in order");
            }
        }
    }

    /** The conv and its bias epilogue are one nest whose accumulator is a tile allocated inside the tile loop. */
    @Test
    void convAccumulatesInATileLocalBuffer() {
        OpHarness h = conv(16, 32, 3, blocked(16, 14, 28)).ints("pads", 1, 1, 1, 1).constant(rand(32)).target(AVX512).check();
        List<Stmt.Allocate> allocs = new ArrayList<>();
        Vars.anyStmt(h.kernel().func().body(), s -> {
            if (s instanceof Stmt.Allocate a && a.buffer().name().contains(ConvNchwc.MARK)) allocs.add(a);
            return false;
        });
        assertEquals(1, allocs.size());
        assertEquals(14 * 16, allocs.getFirst().buffer().size(), "one register tile of 14 columns x 16 lanes");
        // The schedule is a trace that replays to the same IR.
        var g = h.graph();
        var sched = OpInventory.schedule(g.nodes().getFirst(), g, AVX512, Knobs.defaults());
        String trace = sched.schedule().printTrace();
        assertTrue(trace.contains("compute_at") && trace.contains("localize") && trace.contains("decompose_reduction"), trace);
        assertEquals(sched.kernel().func(), Schedule.replay(sched.unscheduled(), Schedule.parseTrace(trace)).func());
    }
}
