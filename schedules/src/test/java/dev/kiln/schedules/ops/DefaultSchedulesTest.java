package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.lower.LowerTe;
import dev.kiln.irlow.transform.Vars;
import dev.kiln.schedules.Schedule;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The shape of the default schedules (what makes them fast: loop order, vector and parallel
 * loops), and that each is a replayable trace. Correctness is covered by the *OpsTest classes.
 */
class DefaultSchedulesTest {
    /** "name:kind:extent" of every loop in preorder. */
    private static List<String> loops(Kernel k) {
        return Vars.loops(k.func().body()).stream().map(f -> f.var().name() + ":" + f.kind() + ":" + f.extent() .toString()
                .replaceAll(".*value=(\\d+).*", "$1")).toList();
    }

    private static List<String> loops(OpHarness h) {
        return loops(h.check().kernel());
    }

    @Test
    void matmulIsRegisterBlockedAndVectorizedOverColumns() {
        // Run-time B (constant weights are packed: MatMulScheduleTest). AVX2: a 3-row x 4-vector tile.
        List<String> l = loops(op("MatMul").in(rand(12, 8)).in(rand(8, 32)));
        // init nest: 12 rows of one 32-lane vector
        assertEquals(List.of("y.i0.init:SERIAL:12", "y.i1.init:VECTORIZED:32",
                "y.i0.o:SERIAL:4", "rk:SERIAL:8", "y.i0.i:UNROLLED:3", "y.i1:VECTORIZED:32"), l);
    }

    @Test
    void bigBatchedMatmulRunsBatchAndRowsInParallel() {
        List<String> l = loops(op("MatMul").in(rand(2, 64, 16)).in(rand(2, 16, 64)));
        assertTrue(l.contains("y.i0.y.i1.o.f:PARALLEL:32"), l.toString());
        assertTrue(l.contains("y.i2.i:VECTORIZED:16"), l.toString());
    }

    @Test
    void denseWithTransposedWeightsVectorizesAlongK() {
        List<String> l = loops(op("Gemm").attr("transB", 1L).in(rand(2, 64)).constant(rand(12, 64)).constant(rand(12)));
        int at = l.indexOf("rko:SERIAL:4");
        assertTrue(at > 0, l.toString());
        assertEquals(List.of("partial.i1.o:SERIAL:3", "rko:SERIAL:4", "partial.i1.i:UNROLLED:4", "partial.i2:VECTORIZED:16"),
                l.subList(at - 1, at + 3));
    }

    @Test
    void convPutsTheWindowInsideTheVectorizedOutputRow() {
        // Run-time weights: the plain form (constant f32 weights take the blocked one, ConvScheduleTest).
        List<String> l = loops(op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 8, 18, 32)).in(rand(8, 8, 3, 3)));
        int at = l.indexOf("y.i0.y.i1.f:PARALLEL:8");
        assertTrue(at >= 0, l.toString());
        // A register block of 2 rows x 2 vectors inside the reduction.
        assertEquals(List.of("y.i0.y.i1.f:PARALLEL:8", "y.i2.o:SERIAL:9", "y.i3.o.o:SERIAL:1", "rc:SERIAL:8", "rk0:SERIAL:3",
                "rk1:SERIAL:3", "y.i2.i:UNROLLED:2", "y.i3.o.i:UNROLLED:2", "y.i3.i:VECTORIZED:16"), l.subList(at, at + 9));
    }

    @Test
    void pointwiseConvVectorizesTheWholeImageAsOneRow() {
        List<String> l = loops(op("Conv").in(rand(1, 16, 28, 28)).in(rand(32, 16, 1, 1)));
        assertTrue(l.containsAll(List.of("y.i2.o:SERIAL:49", "rc:SERIAL:16", "rk0:SERIAL:1", "y.i2.i:VECTORIZED:16")), l.toString());
    }

    @Test
    void depthwiseConvVectorizesASmallRowWhole() {
        List<String> l = loops(op("Conv").attr("group", 4L).ints("pads", 1, 1, 1, 1).in(rand(1, 4, 7, 7)).constant(rand(4, 1, 3, 3)));
        assertTrue(l.containsAll(List.of("rc:SERIAL:1", "y.i3:VECTORIZED:7")), l.toString());
    }

    @Test
    void elementwiseVectorizesRowsAndRunsTheRestInParallelWhenBig() {
        assertEquals(List.of("y.i0.o:PARALLEL:2500", "y.i0.i:VECTORIZED:32"), loops(op("Relu").in(rand(4, 100, 200))));
        assertEquals(List.of("y.i0.o:SERIAL:4", "y.i0.i:VECTORIZED:32"), loops(op("Relu").in(rand(4, 32))));
        assertEquals(List.of("y.i0:VECTORIZED:5"), loops(op("Relu").in(rand(5))));
        assertEquals(List.of("y.i0.o:SERIAL:7", "y.i0.i:VECTORIZED:21"), loops(op("Relu").in(rand(3, 49))));  // no multiple of 8 divides 147
        // Rows of 152 = 19 x 8: vectors never straddle two rows, so the row statistics load as scalars.
        List<String> softmax = loops(op("Softmax").in(rand(480, 152)));
        assertEquals(List.of("y.i0.y.i1.o.f:PARALLEL:9120", "y.i1.i:VECTORIZED:8"), softmax.subList(softmax.size() - 2, softmax.size()));
        // A bias add merges to [2][3][160] (the bias read at the middle index): rows of 5 vectors,
        // everything outside the vector fused.
        assertEquals(List.of("y.i0.y.i1.f.y.i2.o.f:SERIAL:30", "y.i2.i:VECTORIZED:32"),
                loops(op("Add").in(rand(2, 3, 40, 4)).in(rand(3, 1, 1))));
    }

    @Test
    void reductionOverAMiddleAxisVectorizesTheContiguousAxis() {
        List<String> l = loops(op("ReduceSum").in(rand(3, 50, 64)).constant(longs(1)));
        assertTrue(l.containsAll(List.of("rr0:SERIAL:50", "y.i1.i:VECTORIZED:16")), l.toString());
        assertTrue(l.indexOf("rr0:SERIAL:50") < l.indexOf("y.i1.i:VECTORIZED:16"), l.toString());
    }

    @Test
    void rowReductionsRunInVectorLanesWhenTheRowAllows() {
        // 37 is no multiple of 8: one reduction, innermost and scalar.
        List<String> odd = loops(op("Softmax").in(rand(4, 37)));
        assertEquals("rmax:SERIAL:37", odd.get(odd.indexOf("max.i0:SERIAL:4") + 1), odd.toString());
        assertFalse(odd.stream().anyMatch(s -> s.startsWith("max.i0:VECTORIZED")), odd.toString());
        // 64 = 4 x 16: partial maxima in 16 lanes, 4 rows at a time, then the lanes.
        List<String> even = loops(op("Softmax").in(rand(8, 64)));
        int at = even.indexOf("rmax_o:SERIAL:4");
        assertEquals(List.of("max_lanes.i0.o:SERIAL:2", "rmax_o:SERIAL:4", "max_lanes.i0.i:UNROLLED:4", "max_lanes.i1:VECTORIZED:16"),
                even.subList(at - 1, at + 3));
        assertTrue(even.contains("rmax_l:SERIAL:16"), even.toString());
    }

    @Test
    void defaultSchedulesAreReplayableTraces() {
        OpHarness h = op("Conv").attr("group", 2L).ints("pads", 1, 1, 1, 1).ints("strides", 2, 2).in(rand(1, 4, 19, 40))
                .constant(rand(6, 2, 3, 3)).constant(rand(6));
        Graph g = h.graph();
        Node n = g.nodes().get(0);
        CpuTarget t = Target.avx512();
        OpCompute c = OpInventory.compute(n, g, t);
        PrimFunc base = LowerTe.lower(c.funcName(), c.inputs(), c.outputs());
        Schedule s = new Schedule(base);
        DefaultSchedules.apply(s, c, t);
        assertFalse(s.trace().isEmpty());
        Schedule replayed = Schedule.replay(base, Schedule.parseTrace(s.printTrace()));
        assertEquals(s.func(), replayed.func());
        assertEquals(OpInventory.lower(n, g, t).func(), s.func());
    }

    @Test
    void kernelNamesAreCIdentifiersAndParamsFollowTheBinding() {
        Kernel k = op("Gemm").attr("transB", 1L).in(rand(3, 13)).constant(rand(7, 13)).constant(rand(7)).check().kernel();
        assertTrue(k.func().name().matches("k_[A-Za-z0-9_]+"), k.func().name());
        assertEquals(List.of("x0", "c1", "c2"), k.inputs());
        assertEquals(List.of("y"), k.outputs());
        assertEquals(4, k.func().params().size());
    }

    @Test
    void shapeOnlyConstantsAreNotParams() {
        assertEquals(List.of("x0"), op("Reshape").in(rand(2, 6)).constant(longs(3, 4)).check().kernel().inputs());
        assertEquals(List.of("x0"), op("Clip").in(rand(2, 6)).constant(scalar(0)).constant(scalar(6)).check().kernel().inputs());
        assertEquals(List.of("x0"), op("Slice").in(rand(5, 6)).constant(longs(1)).constant(longs(3)).check().kernel().inputs());
        assertEquals(List.of("x0", "c1"), op("Gather").in(rand(5, 6)).constant(longs(1, 3)).check().kernel().inputs());
    }
}
