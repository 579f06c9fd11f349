package dev.kiln.schedules;

import static dev.kiln.irlow.ScalarType.F32;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Printer;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.lower.LowerTe;
import dev.kiln.irlow.lower.LoweringPipeline;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import dev.kiln.irlow.transform.Vars;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * computeInline, computeAt, cacheRead, cacheWrite and bind: each scheduled kernel must give the
 * unscheduled kernel's results on the interpreter (exactly: inputs are small integers), replay
 * from its printed trace to the same IR, and still lower; each refusal names what is wrong.
 */
class SchedulePrimitivesTest {
    /** The lowered kernel with output {@code name} turned into an allocated intermediate. */
    static PrimFunc withIntermediate(PrimFunc f, String name) {
        Buffer b = f.params().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
        List<Buffer> params = new ArrayList<>(f.params());
        params.remove(b);
        return new PrimFunc(f.name(), params, new Stmt.Allocate(b, f.body()));
    }

    /** T = 2A + 1 (an intermediate nest), Y = T*T - A. */
    static PrimFunc elementwise(long h, long w) {
        Placeholder a = Te.placeholder("A", F32, h, w);
        Compute t = Te.compute("T", F32, Te.box(h, w), i -> add(mul(Te.read(a, i), f32(2)), f32(1)));
        Compute y = Te.compute("Y", F32, Te.box(h, w), i -> sub(mul(Te.read(t, i), Te.read(t, i)), Te.read(a, i)));
        return withIntermediate(LowerTe.lower("elementwise", List.of(a), List.of(t, y)), "T");
    }

    /** T = 3A - 1, Y[y, x] = T[y, x] + 2*T[y+1, x+2] + T[y+2, x+1]: a stencil read with offsets. */
    static PrimFunc stencil(long h, long w) {
        Placeholder a = Te.placeholder("A", F32, h, w);
        Compute t = Te.compute("T", F32, Te.box(h, w), i -> sub(mul(Te.read(a, i), f32(3)), f32(1)));
        Compute y = Te.compute("Y", F32, Te.box(h - 2, w - 2), i -> {
            Expr r = i.get(0), c = i.get(1);
            return add(add(Te.read(t, r, c), mul(Te.read(t, add(r, idx(1)), add(c, idx(2))), f32(2))), Te.read(t, add(r, idx(2)), add(c, idx(1))));
        });
        return withIntermediate(LowerTe.lower("stencil", List.of(a), List.of(t, y)), "T");
    }

    /** R[i] = sum_k A[i, k] (materialized: init and update nests), Y[i, j] = R[i]*B[i, j] + 1. */
    static PrimFunc reductionEpilogue(long n, long m) {
        Placeholder a = Te.placeholder("A", F32, n, m), b = Te.placeholder("B", F32, n, m);
        Expr.Var k = Te.reduceAxis("k");
        Compute r = Te.compute("R", F32, Te.box(n), i -> Te.sum(Te.read(a, i.get(0), k), List.of(k), List.of(m)));
        Compute y = Te.compute("Y", F32, Te.box(n, m), i -> add(mul(Te.read(r, i.get(0)), Te.read(b, i)), f32(1)));
        return LowerTe.lower("epilogue", List.of(a, b), List.of(y));
    }

    /** Applies {@code schedule} to {@code base} and checks results, trace round trip, replay and lowering. */
    static Schedule check(PrimFunc base, Consumer<Schedule> schedule) {
        Schedule s = new Schedule(base);
        schedule.accept(s);
        float[] want = ScheduleTest.run(base);
        assertArrayEquals(want, ScheduleTest.run(s.func()), s.printTrace() + Printer.print(s.func()));
        String text = s.printTrace();
        assertEquals(s.trace(), Schedule.parseTrace(text));
        assertEquals(text.lines().count(), s.trace().size(), "one line per step");
        assertEquals(s.func(), Schedule.replay(base, Schedule.parseTrace(text)).func(), "replay of\n" + text);
        PrimFunc lowered = LoweringPipeline.run(s.func(), (n, f) -> {});
        assertArrayEquals(want, ScheduleTest.run(lowered), "after lowering\n" + text + Printer.print(lowered));
        new Schedule(s.func()); // loop names are still unique
        return s;
    }

    static Stmt.For loop(Schedule s, String name) {
        return Vars.loops(s.func().body()).stream().filter(l -> l.var().name().equals(name)).findFirst().orElseThrow();
    }

    static boolean mentions(Schedule s, String buffer) {
        String text = Printer.print(s.func());
        return text.contains(buffer + "[") || text.contains("allocate " + buffer + ":");
    }

    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    // ---- computeInline ----

    @Test
    void computeInlineRemovesTheProducer() {
        Schedule s = check(elementwise(5, 7), x -> x.computeInline("T"));
        assertFalse(mentions(s, "T"), Printer.print(s.func()));
        assertEquals(List.of("Y.i0", "Y.i1"), s.loops());
        assertEquals("compute_inline T\n", s.printTrace());
    }

    @Test
    void computeInlineOfAStencilAfterSplitAndReorder() {
        Schedule s = check(stencil(6, 9), x -> {
            x.split("Y.i1", 3);
            x.reorder("Y.i1.o", "Y.i0");
            x.split("T.i0", 2);
            x.computeInline("T");
        });
        assertFalse(mentions(s, "T"));
        // with a split that does not divide, the consumer is guarded; inlining still holds
        check(stencil(6, 9), x -> {
            x.split("Y.i1", 4);
            x.computeInline("T");
        });
    }

    @Test
    void computeInlineRefusals() {
        PrimFunc red = reductionEpilogue(4, 5);
        assertTrue(error(() -> new Schedule(red).computeInline("R")).contains("written by 2 loop nests"));
        assertTrue(error(() -> new Schedule(red).computeInline("A")).contains("A is a parameter of kernel epilogue"));
        assertTrue(error(() -> new Schedule(red).computeInline("Q")).contains("no buffer named Q"));

        // a single nest that accumulates into its own buffer: T[i] = T[i] + A[i]
        Buffer a = new Buffer("A", F32, 4), t = new Buffer("T", F32, 4), y = new Buffer("Y", F32, 4);
        Expr.Var i = var("i"), j = var("j");
        Stmt body = new Stmt.Allocate(t, new Stmt.Seq(List.of(
                new Stmt.For(i, idx(0), idx(4), ForKind.SERIAL, new Stmt.Store(t, i, add(new Expr.Load(t, i), new Expr.Load(a, i)))),
                new Stmt.For(j, idx(0), idx(4), ForKind.SERIAL, new Stmt.Store(y, j, new Expr.Load(t, j))))));
        Schedule acc = new Schedule(new PrimFunc("acc", List.of(a, y), body));
        assertTrue(error(() -> acc.computeInline("T")).contains("T is a reduction (its store reads T itself)"));

        Schedule fused = new Schedule(elementwise(3, 4));
        fused.fuse("T.i0", "T.i1");
        assertTrue(error(() -> fused.computeInline("T")).contains("is not a sum of its loop variables times constants"));
        assertEquals(1, fused.trace().size(), "failed steps are not recorded");
    }

    // ---- computeAt ----

    @Test
    void computeAtComputesOneRowPerIteration() {
        Schedule s = check(elementwise(5, 7), x -> x.computeAt("T", "Y.i0"));
        assertEquals(List.of("Y.i0", "T.i0", "T.i1", "Y.i1"), s.loops());
        assertEquals(idx(1), loop(s, "T.i0").extent());
        assertEquals(idx(7), loop(s, "T.i1").extent());
        assertEquals("compute_at T Y.i0\n", s.printTrace());

        Schedule inner = check(elementwise(5, 7), x -> x.computeAt("T", "Y.i1"));
        assertEquals(idx(1), loop(inner, "T.i1").extent());
    }

    @Test
    void computeAtOfAStencilComputesTheRowsItReads() {
        Schedule s = check(stencil(7, 10), x -> x.computeAt("T", "Y.i0"));
        assertEquals(idx(3), loop(s, "T.i0").extent(), Printer.print(s.func()));
        assertEquals(idx(10), loop(s, "T.i1").extent());

        Schedule point = check(stencil(7, 10), x -> x.computeAt("T", "Y.i1"));
        assertEquals(idx(3), loop(point, "T.i0").extent());
        assertEquals(idx(3), loop(point, "T.i1").extent());

        // tiles of 2x4 outputs read 4x6 of T
        Schedule tiled = check(stencil(7, 10), x -> {
            x.tile("Y.i0", "Y.i1", 5, 4);
            x.computeAt("T", "Y.i1.o");
            x.split("T.i1", 2);
        });
        assertEquals(idx(7), loop(tiled, "T.i0").extent(), Printer.print(tiled.func()));
    }

    @Test
    void computeAtOfAReductionRecomputesItsRegion() {
        Schedule s = check(reductionEpilogue(6, 5), x -> x.computeAt("R", "Y.i0"));
        assertEquals(List.of("Y.i0", "R.i0.init", "R.i0", "k", "Y.i1"), s.loops());
        check(reductionEpilogue(6, 5), x -> {
            x.split("Y.i0", 2);
            x.reorder("k", "R.i0");
            x.computeAt("R", "Y.i0.o");
            x.parallel("Y.i0.o");
        });
    }

    @Test
    void computeAtRefusals() {
        PrimFunc red = reductionEpilogue(4, 5);
        assertTrue(error(() -> new Schedule(red).computeAt("A", "Y.i0")).contains("A is a parameter"));
        assertTrue(error(() -> new Schedule(red).computeAt("R", "k")).contains("loop k belongs to the nest that computes R"));
        assertTrue(error(() -> new Schedule(red).computeAt("R", "nope")).contains("no loop named nope"));
        // softmax: mx is read by the sum and by the output, so one loop cannot hold all its reads
        Schedule soft = new Schedule(ScheduleTest.softmax(3, 4));
        String e = error(() -> soft.computeAt("mx", "sum.i0"));
        assertTrue(e.contains("mx is also read outside loop sum.i0"), e);
        // a loop that runs before the producer
        String e2 = error(() -> soft.computeAt("sum", "mx.i0"));
        assertTrue(e2.contains("loop mx.i0 does not run after the nest that computes sum"), e2);
    }

    // ---- cacheRead / cacheWrite ----

    @Test
    void cacheReadCopiesTheRowsBelowTheLoop() {
        Schedule s = check(ScheduleTest.matmul(6, 8, 5), x -> {
            assertEquals("A.local", x.cacheRead("A", "C.i0"));
            x.cacheRead("B", "C.i1");
        });
        Stmt.Allocate a = allocation(s, "A.local"), b = allocation(s, "B.local");
        assertEquals(5, a.buffer().size()); // one row of A per C.i0
        assertEquals(5, b.buffer().size()); // one column of B per C.i1
        assertEquals("cache_read A C.i0\ncache_read B C.i1\n", s.printTrace());
        assertTrue(Printer.print(loop(s, "k")).contains("A.local[k]"), Printer.print(loop(s, "k")));

        Schedule st = check(stencil(7, 10), x -> {
            x.split("Y.i0", 2);
            x.cacheRead("T", "Y.i0.i");
        });
        assertEquals(30, allocation(st, "T.local").buffer().size()); // 3 rows of 10

        check(stencil(7, 9), x -> { // a split that does not divide guards the reads
            x.split("Y.i1", 4);
            x.reorder("Y.i1.o", "Y.i0");
            x.cacheRead("T", "Y.i0");
            x.cacheRead("A", "T.i0");
        });
    }

    @Test
    void cacheWriteAccumulatesLocally() {
        Schedule s = check(ScheduleTest.matmul(6, 8, 5), x -> {
            x.cacheWrite("C", "C.i0");
            x.split("C.i1", 4);
        });
        assertEquals(8, allocation(s, "C.local").buffer().size());
        String k = Printer.print(loop(s, "k"));
        assertTrue(k.contains("C.local[") && !k.contains(" C["), "the accumulate reads and writes the local buffer:\n" + k);
        assertEquals("cache_write C C.i0\nsplit C.i1 4\n", s.printTrace());

        check(elementwise(4, 6), x -> {
            x.computeAt("T", "Y.i0");
            x.cacheWrite("T", "Y.i0");
            x.cacheWrite("Y", "Y.i1");
        });
        check(reductionEpilogue(6, 5), x -> {
            x.split("Y.i0", 3);
            x.computeAt("R", "Y.i0.o");
            x.cacheWrite("R", "Y.i0.o");
            x.cacheRead("B", "Y.i0.i");
        });
    }

    @Test
    void cacheRefusals() {
        PrimFunc mm = ScheduleTest.matmul(4, 4, 4);
        assertTrue(error(() -> new Schedule(mm).cacheRead("C", "C.i0")).contains("C is written below loop C.i0"));
        assertTrue(error(() -> new Schedule(mm).cacheRead("A", "C.i0.init")).contains("nothing below loop C.i0.init reads A"));
        assertTrue(error(() -> new Schedule(mm).cacheWrite("A", "C.i0")).contains("nothing below loop C.i0 writes A"));
        assertTrue(error(() -> new Schedule(mm).cacheRead("Z", "C.i0")).contains("no buffer named Z"));
        Schedule twice = new Schedule(mm);
        twice.cacheRead("A", "C.i0");
        assertTrue(error(() -> twice.cacheRead("A", "k")).contains("already has a buffer named A.local"));
    }

    // ---- bind ----

    @Test
    void bindPrintsGpuIndicesAndRefusesReuseInANest() {
        Schedule s = new Schedule(ScheduleTest.matmul(8, 8, 4));
        s.split("C.i0", 4);
        s.bind("C.i0.o", ForKind.GPU_BLOCK_X);
        s.bind("C.i0.i", ForKind.GPU_THREAD_X);
        s.bind("C.i0.init", ForKind.GPU_BLOCK_X); // another nest
        assertEquals(ForKind.GPU_THREAD_X, loop(s, "C.i0.i").kind());
        assertEquals("split C.i0 4\nbind C.i0.o blockIdx.x\nbind C.i0.i threadIdx.x\nbind C.i0.init blockIdx.x\n", s.printTrace());
        assertEquals(s.func(), Schedule.replay(ScheduleTest.matmul(8, 8, 4), Schedule.parseTrace(s.printTrace())).func());

        String e = error(() -> s.bind("C.i1", ForKind.GPU_BLOCK_X));
        assertTrue(e.contains("loop C.i0.o of the same nest is already bound to it"), e);
        String e2 = error(() -> s.bind("C.i1", ForKind.PARALLEL));
        assertTrue(e2.contains("parallel is not a GPU index"), e2);
        assertTrue(error(() -> Schedule.parseTrace("bind C.i1 warpIdx.x")).contains("bad schedule step"));
        assertEquals(4, s.trace().size());
        s.bind("C.i1", ForKind.GPU_THREAD_Y);
        assertArrayEquals(ScheduleTest.run(ScheduleTest.matmul(8, 8, 4)), ScheduleTest.run(s.func()));
    }

    @Test
    void allStepsRoundTripInOneTrace() {
        PrimFunc base = reductionEpilogue(8, 6);
        Schedule s = check(base, x -> {
            x.split("Y.i0", 4);
            x.computeAt("R", "Y.i0.o");
            x.cacheRead("B", "Y.i0.i");
            x.cacheWrite("Y", "Y.i0.o");
            x.bind("Y.i0.o", ForKind.GPU_BLOCK_X);
        });
        assertEquals("""
                split Y.i0 4
                compute_at R Y.i0.o
                cache_read B Y.i0.i
                cache_write Y Y.i0.o
                bind Y.i0.o blockIdx.x
                """, s.printTrace());
    }

    static Stmt.Allocate allocation(Schedule s, String name) {
        Stmt.Allocate[] found = {null};
        Accesses.forEachStmt(s.func().body(), x -> {
            if (x instanceof Stmt.Allocate a && a.buffer().name().equals(name)) found[0] = a;
        });
        assertNotNull(found[0], "no allocation of " + name + " in\n" + Printer.print(s.func()));
        return found[0];
    }
}
