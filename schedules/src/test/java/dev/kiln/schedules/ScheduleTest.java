package dev.kiln.schedules;

import static dev.kiln.irlow.ScalarType.F32;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Printer;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.interp.Interpreter;
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
import java.util.Random;
import org.junit.jupiter.api.Test;

class ScheduleTest {
    static PrimFunc matmul(long m, long n, long k) {
        Placeholder a = Te.placeholder("A", F32, m, k);
        Placeholder b = Te.placeholder("B", F32, k, n);
        Expr.Var kk = Te.reduceAxis("k");
        Compute c = Te.compute("C", F32, Te.box(m, n),
                i -> Te.sum(mul(Te.read(a, i.get(0), kk), Te.read(b, kk, i.get(1))), List.of(kk), List.of(k)));
        return LowerTe.lower("matmul", List.of(a, b), List.of(c));
    }

    /** 3x3 convolution, padding 1, with the padding an inlined Select compute. */
    static PrimFunc conv(long c, long h, long w, long k) {
        Placeholder x = Te.placeholder("X", F32, c, h, w);
        Placeholder wt = Te.placeholder("W", F32, k, c, 3, 3);
        Compute pad = Te.compute("P", F32, Te.box(c, h + 2, w + 2), i -> {
            Expr y = sub(i.get(1), idx(1)), z = sub(i.get(2), idx(1));
            Expr inside = and(and(ge(y, idx(0)), lt(y, idx(h))), and(ge(z, idx(0)), lt(z, idx(w))));
            Expr read = Te.read(x, i.get(0), max(min(y, idx(h - 1)), idx(0)), max(min(z, idx(w - 1)), idx(0)));
            return select(inside, read, f32(0));
        });
        Expr.Var rc = Te.reduceAxis("rc"), rh = Te.reduceAxis("rh"), rw = Te.reduceAxis("rw");
        Compute out = Te.compute("Y", F32, Te.box(k, h, w), i -> Te.sum(
                mul(Te.read(pad, rc, add(i.get(1), rh), add(i.get(2), rw)), Te.read(wt, i.get(0), rc, rh, rw)),
                List.of(rc, rh, rw), Te.box(c, 3, 3)));
        return LowerTe.lower("conv", List.of(x, wt), List.of(out));
    }

    static PrimFunc softmax(long n, long m) {
        Placeholder x = Te.placeholder("X", F32, n, m);
        Expr.Var k1 = Te.reduceAxis("mx.k"), k2 = Te.reduceAxis("sum.k");
        Compute mx = Te.compute("mx", F32, Te.box(n), i -> Te.max(Te.read(x, i.get(0), k1), List.of(k1), List.of(m)));
        Compute e = Te.compute("e", F32, Te.box(n, m),
                i -> call(Intrinsic.EXP, sub(Te.read(x, i.get(0), i.get(1)), Te.read(mx, i.get(0)))));
        Compute s = Te.compute("sum", F32, Te.box(n), i -> Te.sum(Te.read(e, i.get(0), k2), List.of(k2), List.of(m)));
        Compute y = Te.compute("Y", F32, Te.box(n, m), i -> div(Te.read(e, i.get(0), i.get(1)), Te.read(s, i.get(0))));
        return LowerTe.lower("softmax", List.of(x), List.of(y));
    }

    /** Runs f on seeded small-integer inputs (so sums are exact in any order); returns the last buffer. */
    static float[] run(PrimFunc f) {
        Random r = new Random(42);
        List<Object> args = new ArrayList<>();
        for (var b : f.params()) {
            float[] a = (float[]) Interpreter.newStorage(b);
            for (int i = 0; i < a.length; i++) a[i] = r.nextInt(9) - 4;
            args.add(a);
        }
        Interpreter.run(f, args);
        return (float[]) args.getLast();
    }

    /** A random legal step on the current loops, or null when the one drawn does not apply. */
    static Step randomStep(Schedule s, Random r) {
        List<String> loops = s.loops();
        String l = loops.get(r.nextInt(loops.size()));
        Stmt.For f = Vars.loops(s.func().body()).stream().filter(x -> x.var().name().equals(l)).findFirst().orElseThrow();
        return switch (r.nextInt(7)) {
            case 0, 1 -> f.extent() instanceof Expr.IntImm ? new Step.Split(l, 1 + r.nextInt(8)) : null;
            case 2 -> {
                List<String> chain = new ArrayList<>();
                Stmt cur = f;
                while (cur instanceof Stmt.For x) {
                    chain.add(x.var().name());
                    cur = x.body();
                }
                if (chain.size() < 2) yield null;
                java.util.Collections.shuffle(chain, r);
                yield new Step.Reorder(chain.subList(0, 2 + r.nextInt(chain.size() - 1)));
            }
            case 3 -> f.body() instanceof Stmt.For in ? new Step.Fuse(l, in.var().name()) : null;
            case 4 -> { // vectorize, mostly an innermost loop, where it can become vector code
                List<String> innermost = Vars.loops(s.func().body()).stream()
                        .filter(x -> !Vars.anyStmt(x.body(), y -> y instanceof Stmt.For)).map(x -> x.var().name()).toList();
                yield new Step.Annotate(r.nextInt(4) == 0 ? l : innermost.get(r.nextInt(innermost.size())), ForKind.VECTORIZED);
            }
            default -> new Step.Annotate(l, r.nextBoolean() ? ForKind.PARALLEL : ForKind.UNROLLED);
        };
    }

    static void randomSchedulesKeepResults(PrimFunc base, int trials, float tol) {
        float[] want = run(base);
        Random r = new Random(7);
        java.util.Map<Class<?>, Integer> applied = new java.util.HashMap<>();
        int vectorized = 0;
        for (int t = 0; t < trials; t++) {
            Schedule s = new Schedule(base);
            for (int n = 0; n < 6; n++) {
                Step step = randomStep(s, r);
                if (step == null) continue;
                try {
                    s.apply(step);
                    applied.merge(step.getClass(), 1, Integer::sum);
                } catch (IllegalArgumentException e) {
                    // e.g. a reorder that would move a loop outside one its bounds depend on
                    assertTrue(e.getMessage().startsWith("cannot"), e.getMessage());
                }
            }
            float[] got = run(s.func());
            for (int i = 0; i < want.length; i++)
                assertEquals(want[i], got[i], tol * Math.max(1, Math.abs(want[i])), "element " + i + " after\n" + s.printTrace());
            PrimFunc lowered = LoweringPipeline.run(s.func(), (name, f) -> {});
            if (Printer.print(lowered).contains("ramp(")) vectorized++;
            float[] low = run(lowered);
            for (int i = 0; i < want.length; i++)
                assertEquals(want[i], low[i], tol * Math.max(1, Math.abs(want[i])), "element " + i + " after lowering\n"
                        + s.printTrace() + Printer.print(lowered));
            Schedule again = Schedule.replay(base, Schedule.parseTrace(s.printTrace()));
            assertEquals(s.func(), again.func(), "replay of\n" + s.printTrace());
        }
        for (Class<?> c : List.of(Step.Split.class, Step.Reorder.class, Step.Fuse.class, Step.Annotate.class))
            assertTrue(applied.getOrDefault(c, 0) >= 5, "too few " + c.getSimpleName() + " steps were tried: " + applied);
        assertTrue(vectorized >= 3, "the vectorizer turned only " + vectorized + " schedules into vector code");
    }

    @Test
    void randomSchedulesOfMatmulKeepResults() {
        randomSchedulesKeepResults(matmul(12, 10, 7), 60, 0);
    }

    @Test
    void randomSchedulesOfConvKeepResults() {
        randomSchedulesKeepResults(conv(3, 5, 6, 2), 40, 0);
    }

    @Test
    void randomSchedulesOfSoftmaxKeepResults() {
        randomSchedulesKeepResults(softmax(4, 9), 60, 1e-6f);
    }

    @Test
    void splitNamesAndGuards() {
        Schedule s = new Schedule(matmul(4, 10, 3));
        assertArrayEquals(new String[] {"C.i1.o", "C.i1.i"}, s.split("C.i1", 4));
        assertEquals(3, s.extent("C.i1.o"));
        assertEquals(4, s.extent("C.i1.i"));
        assertEquals(List.of("C.i0.init", "C.i1.init", "C.i0", "C.i1.o", "C.i1.i", "k"), s.loops());
        // 4 does not divide 10: the innermost body (under k) is guarded.
        Stmt.For k = Vars.loops(s.func().body()).stream().filter(l -> l.var().name().equals("k")).findFirst().orElseThrow();
        Stmt.IfThenElse guard = assertInstanceOf(Stmt.IfThenElse.class, k.body());
        assertEquals(lt(add(mul(var("C.i1.o"), idx(4)), var("C.i1.i")), idx(10)), guard.cond());
        assertEquals("split C.i1 4\n", s.printTrace());
    }

    @Test
    void reductionLoopCanMoveOutward() {
        Schedule s = new Schedule(matmul(6, 8, 5));
        s.reorder("k", "C.i0");
        assertEquals(List.of("C.i0.init", "C.i1.init", "k", "C.i1", "C.i0"), s.loops());
        assertArrayEquals(run(matmul(6, 8, 5)), run(s.func()));
    }

    @Test
    void fuseRecoversBothVariables() {
        Schedule s = new Schedule(matmul(6, 8, 5));
        String f = s.fuse("C.i0", "C.i1");
        assertEquals("C.i0.C.i1.f", f);
        assertEquals(48, s.extent(f));
        s.split(f, 5);
        assertArrayEquals(run(matmul(6, 8, 5)), run(s.func()));
    }

    @Test
    void traceRoundTripsIncludingAnnotations() {
        Schedule s = new Schedule(matmul(8, 8, 8));
        s.tile("C.i0", "C.i1", 4, 2);
        s.parallel("C.i0.o");
        s.vectorize("C.i1.i");
        s.unroll("k");
        s.annotate("C.i0.init", ForKind.GPU_BLOCK_X);
        String text = s.printTrace();
        assertEquals("""
                split C.i0 4
                split C.i1 2
                reorder C.i0.o C.i1.o C.i0.i C.i1.i
                parallel C.i0.o
                vectorize C.i1.i
                unroll k
                annotate C.i0.init gpu_block_x
                """, text);
        List<Step> steps = Schedule.parseTrace(text);
        assertEquals(s.trace(), steps);
        assertEquals(s.func(), Schedule.replay(matmul(8, 8, 8), steps).func());
    }

    @Test
    void unknownLoopListsTheLoops() {
        Schedule s = new Schedule(matmul(4, 4, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> s.split("C.i7", 2));
        assertTrue(e.getMessage().contains("no loop named C.i7") && e.getMessage().contains("[C.i0.init, C.i1.init, C.i0, C.i1, k]"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.parallel("nope"));
        assertTrue(s.trace().isEmpty(), "failed steps are not recorded");
    }

    @Test
    void reorderAcrossANonPerfectNestNamesTheLoop() {
        Schedule s = new Schedule(matmul(4, 4, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> s.reorder("C.i0.init", "k"));
        assertTrue(e.getMessage().contains("not all nested"), e.getMessage());

        // for i { for j { for k {...}; A[i] = 0 } }: j's body is a sequence
        Expr.Var i = var("i"), j = var("j"), k = var("k");
        var buf = new dev.kiln.irlow.Buffer("A", F32, 64);
        Stmt inner = new Stmt.For(k, idx(0), idx(4), ForKind.SERIAL, new Stmt.Store(buf, add(mul(i, idx(16)), add(mul(j, idx(4)), k)), f32(1)));
        Stmt body = new Stmt.For(i, idx(0), idx(4), ForKind.SERIAL,
                new Stmt.For(j, idx(0), idx(4), ForKind.SERIAL, new Stmt.Seq(List.of(inner, new Stmt.Store(buf, i, f32(0))))));
        Schedule s3 = new Schedule(new PrimFunc("f", List.of(buf), body));
        var e3 = assertThrows(IllegalArgumentException.class, () -> s3.reorder("k", "i"));
        assertTrue(e3.getMessage().contains("the body of loop j is a sequence of 2 statements"), e3.getMessage());
        s3.reorder("j", "i"); // the perfect part is fine
        assertEquals(List.of("j", "i", "k"), s3.loops());
    }

    @Test
    void fuseOfNonAdjacentLoopsIsAnError() {
        Schedule s = new Schedule(matmul(4, 4, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> s.fuse("C.i0", "k"));
        assertTrue(e.getMessage().contains("k is not the loop directly inside C.i0"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> s.fuse("C.i1", "C.i0"));
        assertTrue(e2.getMessage().contains("C.i0 is not the loop directly inside C.i1"), e2.getMessage());
    }

    @Test
    void badTraceLinesAreClearErrors() {
        var e = assertThrows(IllegalArgumentException.class, () -> Schedule.parseTrace("split C.i0 x"));
        assertTrue(e.getMessage().contains("bad schedule step 'split C.i0 x'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Schedule.parseTrace("tile a b"));
        assertThrows(IllegalArgumentException.class, () -> Schedule.parseTrace("annotate a sideways"));
    }

    @Test
    void loopsWithNonZeroMinSplitAndFuse() {
        // for (i, 3, 7) for (j, 2, 5) A[i*8 + j] = i*10 + j, in i64.
        var buf = new dev.kiln.irlow.Buffer("A", dev.kiln.irlow.ScalarType.I64, 80);
        Expr.Var i = var("i"), j = var("j");
        Stmt body = new Stmt.For(i, idx(3), idx(7), ForKind.SERIAL, new Stmt.For(j, idx(2), idx(5), ForKind.SERIAL,
                new Stmt.Store(buf, add(mul(i, idx(8)), j), add(mul(i, idx(10)), j))));
        PrimFunc f = new PrimFunc("f", List.of(buf), body);
        long[] want = new long[80];
        Interpreter.run(f, List.of(want));
        Schedule s = new Schedule(f);
        s.split("i", 3);
        String fused = s.fuse("i.i", "j");
        s.split(fused, 4);
        long[] got = new long[80];
        Interpreter.run(s.func(), List.of(got));
        assertArrayEquals(want, got, s.printTrace());
        long[] low = new long[80];
        Interpreter.run(LoweringPipeline.run(s.func(), (n, x) -> {}), List.of(low));
        assertArrayEquals(want, low);
    }
}
