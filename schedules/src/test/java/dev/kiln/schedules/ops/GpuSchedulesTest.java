package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.GPU;
import static dev.kiln.schedules.ops.OpHarness.op;
import static dev.kiln.schedules.ops.OpHarness.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.analysis.LaunchExtents;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Vars;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.Step;
import dev.kiln.schedules.space.Knobs;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The launch shapes the GPU templates give (correctness of every op on the GPU target is checked
 * by OpHarness and ConfigSpaceTemplatesTest): which loops are bound, to how many threads, and
 * that nothing runs outside the bound loops where that would race.
 */
class GpuSchedulesTest {
    /** The GPU kernel of a one-node graph, checked against the evaluator. */
    private static Kernel gpuKernel(OpHarness h) {
        h.check(); // on the CPU and, through OpHarness, on GPU
        Graph g = h.graph();
        return OpInventory.lower(g.nodes().getFirst(), g, GPU);
    }

    private static LaunchExtents launch(Kernel k) {
        return LaunchExtents.of(k.func());
    }

    /** Every top-level statement of the kernel (under its allocations) is a loop bound to blockIdx.x. */
    private static void allInsideBlocks(Kernel k) {
        for (Stmt t : topLevel(k.func().body()))
            assertTrue(t instanceof Stmt.For f && f.kind().isGpuBlock(), k.func().name() + ": a top-level statement is not in a block loop: " + t);
    }

    private static List<Stmt> topLevel(Stmt s) {
        return switch (s) {
            case Stmt.Allocate a -> topLevel(a.body());
            case Stmt.Seq q -> q.stmts().stream().flatMap(x -> topLevel(x).stream()).toList();
            default -> List.of(s);
        };
    }

    @Test
    void elementwiseIsOneThreadPerElementIn256ThreadBlocks() {
        Kernel k = gpuKernel(op("Relu").in(rand(3, 1000)));
        assertEquals(new LaunchExtents(new LaunchExtents.Dim3(12, 1, 1), new LaunchExtents.Dim3(256, 1, 1)), launch(k));
        allInsideBlocks(k);
    }

    @Test
    void smallNestsGetSmallerBlocksButAtLeastAWarp() {
        assertEquals(32, launch(gpuKernel(op("Neg").in(rand(5)))).block().x());
        assertEquals(64, launch(gpuKernel(op("Neg").in(rand(40)))).block().x());
    }

    @Test
    void outputsOfDifferentSizesShareOneGrid() {
        Kernel k = gpuKernel(op("Split").attr("axis", 1L).ints("split", 300, 700).outputs("a", "b")
                .opset(11).in(rand(2, 1000)));
        // 1400 elements need 6 blocks of 256; the 600 of the first output use 3 of them.
        assertEquals(new LaunchExtents.Dim3(6, 1, 1), launch(k).grid());
        allInsideBlocks(k);
    }

    @Test
    void reductionInitRunsInTheThreadThatAccumulates() {
        Kernel k = gpuKernel(op("ReduceSum").in(rand(3, 7, 40)).constant(OpHarness.longs(1)));
        // 3 x 40 outputs, each summing 7 values in its thread: one block of 128.
        assertEquals(new LaunchExtents(new LaunchExtents.Dim3(1, 1, 1), new LaunchExtents.Dim3(128, 1, 1)), launch(k));
        allInsideBlocks(k);
    }

    @Test
    void softmaxAndLayerNormRunOneThreadPerRow() {
        Kernel softmax = gpuKernel(op("Softmax").attr("axis", -1L).in(rand(70, 33)));
        assertEquals(new LaunchExtents(new LaunchExtents.Dim3(1, 1, 1), new LaunchExtents.Dim3(128, 1, 1)), launch(softmax));
        allInsideBlocks(softmax);
        Kernel norm = gpuKernel(op("LayerNormalization").attr("axis", -1L).in(rand(2, 5, 48)).constant(rand(48)).constant(rand(48)));
        assertEquals(32, launch(norm).block().x());
        allInsideBlocks(norm);
    }

    @Test
    void reductionToOneElementIsOneWarp() {
        Kernel k = gpuKernel(op("ReduceMax").attr("keepdims", 0L).in(rand(4, 9)));
        assertEquals(new LaunchExtents(new LaunchExtents.Dim3(1, 1, 1), new LaunchExtents.Dim3(32, 1, 1)), launch(k));
        allInsideBlocks(k);
    }

    @Test
    void matmulIsRegisterTiled() {
        Kernel k = gpuKernel(op("MatMul").in(rand(2, 33, 40)).in(rand(2, 40, 50)));
        LaunchExtents l = launch(k);
        // 8x8 outputs per thread (twice the float4 the device prefers); 5 x 7 such tiles take 8 x 8
        // threads, one block per batch; two blocks for 4 compute units are too few, so the columns
        // get half the threads (a block stays one 32-thread warp): 2 x 2 blocks.
        assertEquals(new LaunchExtents.Dim3(4, 8, 1), l.block());
        assertEquals(new LaunchExtents.Dim3(2, 2, 1), l.grid());
        List<MemoryScope> scopes = allocations(k.func().body());
        assertTrue(scopes.contains(MemoryScope.REGISTER), "accumulators and fragments in registers: " + scopes);
        gpuKernel(op("MatMul").in(rand(7, 13)).constant(rand(13, 64))); // B packed into panels
        gpuKernel(op("MatMul").in(rand(67)).constant(rand(67, 32)));    // 1-D A: the generic template
    }

    @Test
    void matmulTilingOffIsTheGenericTemplate() {
        Graph g = op("MatMul").in(rand(9, 12)).in(rand(12, 20)).graph();
        Node n = g.nodes().getFirst();
        var space = OpInventory.space(n, g, GPU);
        var config = Knobs.defaults();
        OpInventory.lower(n, g, GPU, config);
        Kernel k = OpInventory.lower(n, g, GPU, Knobs.of(config.config().with("tiled", 0)));
        assertTrue(space.knobs().stream().anyMatch(x -> x.name().equals("stage_local")));
        assertEquals(new LaunchExtents.Dim3(256, 1, 1), launch(k).block());
        assertTrue(allocations(k.func().body()).stream().noneMatch(s -> s == MemoryScope.REGISTER));
    }

    /** The allocations inside a loop bound to threadIdx, by buffer name. */
    private static java.util.Map<String, Long> threadAllocations(Stmt s, boolean inThread) {
        java.util.Map<String, Long> out = new java.util.HashMap<>();
        if (s instanceof Stmt.Allocate a && inThread) out.put(a.buffer().name(), a.buffer().size());
        boolean in = inThread || s instanceof Stmt.For f && f.kind().isGpuThread();
        dev.kiln.irlow.transform.Children.forEach(s, c -> out.putAll(threadAllocations(c, in)), e -> {});
        return out;
    }

    @Test
    void convWithItsEpilogueIsRegisterTiledPerThread() {
        // 32 output channels x 8 columns: each thread accumulates 16 channels x 8 columns privately.
        Kernel conv = gpuKernel(op("Conv").ints("pads", 1, 1, 1, 1).in(rand(1, 16, 8, 8)).constant(rand(32, 16, 3, 3)).constant(rand(32)));
        var tiles = threadAllocations(conv.func().body(), false);
        assertTrue(tiles.values().stream().anyMatch(n -> n == 16 * 8), "a 16 x 8 accumulator per thread: " + tiles);
        // 2 channel tiles x 8 rows = 16 threads' work: one block of one 32-thread warp.
        assertEquals(new LaunchExtents(new LaunchExtents.Dim3(1, 1, 1), new LaunchExtents.Dim3(32, 1, 1)), launch(conv));
        allInsideBlocks(conv);
        // Depthwise (3 channels): tiles of one channel x 7 columns, reading the input through the
        // padding inline (no padded copy that overlapping threads would all write).
        Kernel depthwise = gpuKernel(op("Conv").attr("group", 3L).ints("pads", 1, 1, 1, 1).in(rand(1, 3, 7, 7)).constant(rand(3, 1, 3, 3))
                .constant(rand(3)));
        var dw = threadAllocations(depthwise.func().body(), false);
        assertEquals(java.util.Map.of("conv", 7L), dw);
        assertTrue(allocations(depthwise.func().body()).size() == 1, "only the accumulator is allocated");
        allInsideBlocks(depthwise);
        // Off, the generic template: one output per thread.
        Graph g = op("Conv").in(rand(1, 16, 8, 8)).constant(rand(32, 16, 1, 1)).constant(rand(32)).graph();
        Node n = g.nodes().getFirst();
        var config = Knobs.defaults();
        OpInventory.lower(n, g, GPU, config);
        Kernel generic = OpInventory.lower(n, g, GPU, Knobs.of(config.config().with("conv_tiled", 0)));
        assertEquals(32 * 64, launch(generic).grid().x() * launch(generic).block().x());
    }

    @Test
    void matmulWithItsEpilogueIsRegisterTiledPerThread() {
        // Packed B and a bias: the output viewed as panels; each thread 8 rows x 8 columns (twice
        // the float4 the device prefers), densely in private memory although rows are 128 apart.
        Kernel packed = gpuKernel(op("Gemm").in(rand(32, 24)).constant(rand(24, 128)).constant(rand(128)));
        var tiles = threadAllocations(packed.func().body(), false);
        assertTrue(tiles.values().stream().anyMatch(n -> n == 8 * 8), "an 8 x 8 accumulator per thread: " + tiles);
        allInsideBlocks(packed);
        // Both operands inputs (no packing) and alpha as the epilogue.
        Kernel plain = gpuKernel(op("Gemm").attr("alpha", 2f).in(rand(16, 24)).in(rand(24, 40)));
        var plainTiles = threadAllocations(plain.func().body(), false);
        assertTrue(plainTiles.values().stream().anyMatch(n -> n == 8 * 8), "an 8 x 8 accumulator per thread: " + plainTiles);
        allInsideBlocks(plain);
    }

    @Test
    void matmulStagesTilesInSharedMemoryBetweenBarriers() {
        // The test GPU prefers float4: tiles of A and B per k block go to local memory, copied by
        // all the block's threads between barriers (the interpreter runs such a block's threads at
        // once, so a missing barrier or a wrong share of the copy shows as a wrong answer).
        Kernel k = gpuKernel(op("MatMul").in(rand(64, 48)).in(rand(48, 64)));
        List<MemoryScope> scopes = allocations(k.func().body());
        assertEquals(2, scopes.stream().filter(x -> x == MemoryScope.SHARED).count(), "A and B tiles: " + scopes);
        long barriers = k.func().body().toString().split("Barrier\\[", -1).length - 1;
        assertEquals(4, barriers, "after each copy and at the end of each k block");
        Graph g = op("MatMul").in(rand(64, 48)).in(rand(48, 64)).graph();
        Node n = g.nodes().getFirst();
        var config = Knobs.defaults();
        OpInventory.lower(n, g, GPU, config);
        Kernel off = OpInventory.lower(n, g, GPU, Knobs.of(config.config().with("stage_shared", 0)));
        assertTrue(allocations(off.func().body()).stream().noneMatch(x -> x == MemoryScope.SHARED));
    }

    @Test
    void cacheStepsWithAScopePrintAndParseBack() {
        List<Step> steps = List.of(new Step.CacheWrite("C", "C.j.i.o", MemoryScope.REGISTER), new Step.CacheRead("A", "k.i", MemoryScope.SHARED),
                new Step.CacheRead("B", "k.i"));
        String text = steps.stream().map(Step::print).reduce("", (a, b) -> a + b + "\n");
        assertEquals("cache_write C C.j.i.o register\ncache_read A k.i shared\ncache_read B k.i\n", text);
        assertEquals(steps, Schedule.parseTrace(text));
    }

    private static List<MemoryScope> allocations(Stmt s) {
        List<MemoryScope> r = new java.util.ArrayList<>();
        Vars.anyStmt(s, x -> {
            if (x instanceof Stmt.Allocate a) r.add(a.buffer().scope());
            return false;
        });
        return r;
    }
}
