package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.transform.Vars;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The register-blocked matmul templates: packed constant weights and the unpacked form, on shapes
 * no block divides, against the evaluator (correctness), plus the shape of the schedule.
 */
class MatMulScheduleTest {
    @Test
    void packedWeightsOnOddShapes() {
        for (var t : List.of(AVX2, AVX512)) {
            op("MatMul").in(rand(7, 13)).constant(rand(13, 16)).target(t).check();       // M, K prime; one 16-wide panel
            op("MatMul").in(rand(1, 67)).constant(rand(67, 48)).target(t).check();       // one row; 48 = 3 panels of 16
            op("MatMul").in(randIn(-0.2, 0.2, 13, 300)).constant(rand(300, 64)).target(t).check();    // K split into k-blocks
            op("MatMul").in(rand(12, 96)).constant(rand(96, 192)).target(t).check();     // 3 panels of 64, 6-row tiles
            op("MatMul").in(rand(67)).constant(rand(67, 32)).target(t).check();          // 1-D A
        }
    }

    @Test
    void packedWeightsUnderABatchedA() {
        op("MatMul").in(rand(2, 3, 5, 24)).constant(rand(24, 32)).check();
        op("MatMul").in(rand(1, 9, 40)).constant(rand(40, 64)).target(AVX512).check();
    }

    @Test
    void packedGemmWithTransposesAlphaBetaAndBroadcastC() {
        op("Gemm").attr("transB", 1L).in(rand(5, 70)).constant(rand(32, 70)).constant(rand(32)).target(AVX512).check();
        op("Gemm").attr("transA", 1L).attr("alpha", 0.5f).attr("beta", 2f).in(rand(70, 3)).constant(rand(70, 16))
                .constant(rand(3, 1)).check();
        op("Gemm").attr("transA", 1L).attr("transB", 1L).attr("beta", -1f).in(rand(9, 11)).constant(rand(48, 9))
                .in(rand(11, 48)).check();
        op("Gemm").attr("transB", 1L).attr("alpha", 3f).in(rand(1, 8)).constant(rand(16, 8)).check();   // no C
        op("Gemm").attr("transB", 1L).in(rand(130, 20)).constant(rand(64, 20)).constant(rand(1, 64)).target(AVX512).check();
    }

    @Test
    void unpackedRunTimeOperands() {
        for (var t : List.of(AVX2, AVX512)) {
            op("MatMul").in(rand(12, 4, 9)).in(rand(12, 9, 32)).target(t).check();      // attention-like, batched
            op("MatMul").in(rand(2, 1, 5, 7)).in(rand(3, 7, 64)).target(t).check();      // broadcast batch
            op("MatMul").in(rand(13, 5)).in(rand(5, 48)).target(t).check();              // prime M: 1-row tiles
            op("Gemm").attr("transB", 1L).in(rand(4, 16)).in(rand(32, 16)).in(rand(32)).target(t).check();
        }
    }

    @Test
    void packedScheduleKeepsAnL1BlockOfOnePanelUnderAllRowTiles() {
        List<String> l = DefaultSchedulesTestLoops.of(op("MatMul").in(randIn(-0.1, 0.1, 64, 512)).constant(rand(512, 128)).target(AVX512).check());
        // The output (32 KiB) stays in L2, so k-blocks run outermost: 8 blocks of 64 rows of a 64-wide
        // panel (16 KiB), panels in parallel, 16 row tiles of 4, the tile: 4 rows x 4 vectors.
        assertEquals(List.of("rk.o:SERIAL:8", "y.i1:PARALLEL:2", "y.i0.o:SERIAL:16", "rk.i:SERIAL:64", "y.i0.i:UNROLLED:4",
                "y.i2:VECTORIZED:64"), l.subList(2, l.size()));
    }

    @Test
    void packedScheduleWithABigOutputRunsPanelsOutermost() {
        OpHarness h = op("MatMul").in(rand(1040, 128)).constant(rand(128, 128));   // 520 KiB of output
        Graph g = h.graph();
        Kernel k = OpInventory.lower(g.nodes().get(0), g, AVX512);
        List<String> l = DefaultSchedulesTestLoops.of(k);
        assertEquals(List.of("y.i1:PARALLEL:2", "rk.o:SERIAL:2", "y.i0.o:SERIAL:260", "rk.i:SERIAL:64", "y.i0.i:UNROLLED:4",
                "y.i2:VECTORIZED:64"), l.subList(2, l.size()));
    }

    @Test
    void packedScheduleWithKBlocksOutermostForksOnceForAllOfThem() {
        OpHarness h = op("MatMul").in(rand(64, 512)).constant(rand(512, 512));   // 8 panels over 4 cores
        Graph g = h.graph();
        List<String> l = DefaultSchedulesTestLoops.of(OpInventory.lower(g.nodes().get(0), g, AVX512));
        assertEquals(List.of("y.i1.o:PARALLEL:4", "rk.o:SERIAL:8", "y.i1.i:SERIAL:2", "y.i0.o:SERIAL:16", "rk.i:SERIAL:64",
                "y.i0.i:UNROLLED:4", "y.i2:VECTORIZED:64"), l.subList(2, l.size()));
        op("MatMul").in(randIn(-0.1, 0.1, 8, 256)).constant(rand(256, 512)).target(AVX512).check();   // same form, run
    }

    @Test
    void tileChoosesTheMostFmasPerLoadThatFitsTheRegisters() {
        assertEquals(new MatMulSchedule.Tile(6, 4, 16), MatMulSchedule.tile(12, 64, 16, 32));
        assertEquals(new MatMulSchedule.Tile(4, 4, 16), MatMulSchedule.tile(128, 64, 16, 32));
        assertEquals(new MatMulSchedule.Tile(3, 4, 8), MatMulSchedule.tile(12, 32, 8, 16));   // AVX2: 12 accumulators
        assertEquals(new MatMulSchedule.Tile(1, 4, 16), MatMulSchedule.tile(1, 64, 16, 32));
        assertNull(MatMulSchedule.tile(4, 12, 16, 32));
        // NEON: 4 lanes and 32 registers, so a 6x4-vector tile keeps 24 accumulators (plus 4 B vectors and a broadcast).
        assertEquals(new MatMulSchedule.Tile(6, 4, 4), MatMulSchedule.tile(12, 64, 4, 32));
    }

    @Test
    void packLaysOutPanelsRowByRow() {
        Tensor b = Tensor.generate(DType.FLOAT32, Shape.of(2, 32), i -> i);              // [K=2, N=32]
        Tensor p = MatMulSchedule.pack(b, false, 2, 32, 16);
        assertEquals(Shape.of(2, 2, 16), p.shape());
        assertEquals(32f, p.floats()[16]);      // panel 0, k=1, column 0 = b[1, 0]
        assertEquals(16f, p.floats()[32]);      // panel 1, k=0, column 16 = b[0, 16]
        assertEquals(63f, p.floats()[63]);      // panel 1, k=1, column 31 = b[1, 31]
        Tensor t = MatMulSchedule.pack(Tensor.generate(DType.FLOAT32, Shape.of(32, 2), i -> i), true, 2, 32, 16);
        assertEquals(1f, t.floats()[16]);       // panel 0, k=1, column 0 = bT[0, 1]
    }

    /** The loops of a kernel as name:kind:extent, as in {@link DefaultSchedulesTest}. */
    private static final class DefaultSchedulesTestLoops {
        static List<String> of(OpHarness h) {
            return of(h.kernel());
        }

        static List<String> of(Kernel k) {
            return Vars.loops(k.func().body()).stream().map(f -> f.var().name() + ":" + f.kind() + ":"
                    + f.extent().toString().replaceAll(".*value=(\\d+).*", "$1")).toList();
        }
    }
}
