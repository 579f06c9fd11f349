package dev.kiln.irlow.transform;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.Kernels;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Printer;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.interp.Interpreter;
import dev.kiln.irlow.lower.LoweringPipeline;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class VectorizeLoopsTest {
    static final Buffer A = new Buffer("A", ScalarType.F32, 16), B = new Buffer("B", ScalarType.F32, 16);
    static final Var i = var("i"), o = var("o");

    static Stmt vloop(Var v, long n, Stmt body) {
        return new Stmt.For(v, idx(0), idx(n), ForKind.VECTORIZED, body);
    }

    static Expr ramp(Expr base, long stride, int n) {
        return new Ramp(base, idx(stride), n);
    }

    /** Runs both forms on the same random data and compares every buffer. */
    static void sameResults(PrimFunc before, PrimFunc after) {
        Random r = new Random(5);
        List<Object> x = new ArrayList<>(), y = new ArrayList<>();
        for (Buffer b : before.params()) {
            float[] a = new float[(int) b.size()];
            for (int k = 0; k < a.length; k++) a[k] = (float) r.nextGaussian();
            x.add(a);
            y.add(a.clone());
        }
        Interpreter.run(before, x);
        Interpreter.run(after, y);
        for (int k = 0; k < x.size(); k++)
            assertArrayEquals((float[]) x.get(k), (float[]) y.get(k), "buffer " + before.params().get(k).name() + " of\n" + Printer.print(after));
    }

    static PrimFunc func(Stmt body) {
        return new PrimFunc("f", List.of(A, B), body);
    }

    @Test
    void contiguousLoadAndStoreWithBroadcastConstant() {
        Stmt s = vloop(i, 8, new Stmt.Store(B, add(i, idx(8)), mul(new Load(A, i), f32(2))));
        Stmt v = VectorizeLoops.run(s);
        assertEquals(new Stmt.Store(B, ramp(idx(8), 1, 8), mul(new Load(A, ramp(idx(0), 1, 8)), new Broadcast(f32(2), 8))), v);
        sameResults(func(s), func(v));
    }

    @Test
    void stridedIndexIsAGatherAndInvariantLoadStaysScalar() {
        Stmt s = vloop(i, 8, new Stmt.Store(B, i, add(new Load(A, mul(i, idx(2))), new Load(A, idx(3)))));
        Stmt v = VectorizeLoops.run(s);
        assertEquals(new Stmt.Store(B, ramp(idx(0), 1, 8),
                add(new Load(A, ramp(idx(0), 2, 8)), new Broadcast(new Load(A, idx(3)), 8))), v);
        sameResults(func(s), func(v));
    }

    @Test
    void scatterStoreIsAllowedWhenNothingElseTouchesTheBuffer() {
        Stmt s = vloop(i, 4, new Stmt.Store(B, mod(mul(i, idx(5)), idx(16)), new Load(A, i)));
        Stmt v = VectorizeLoops.run(s);
        assertFalse(v instanceof Stmt.For, Printer.print(v));
        sameResults(func(s), func(v));
    }

    @Test
    void loopCarriedDependenceFallsBack() {
        // A[i+1] = A[i] + 1 reads what the previous iteration wrote.
        Stmt s = vloop(i, 8, new Stmt.Store(A, add(i, idx(1)), add(new Load(A, i), f32(1))));
        assertEquals(s, VectorizeLoops.run(s));
        // an in-place update at the same index is fine
        Stmt t = vloop(i, 8, new Stmt.Store(A, i, add(new Load(A, i), f32(1))));
        assertFalse(VectorizeLoops.run(t) instanceof Stmt.For);
    }

    @Test
    void guardedStoreBecomesASelectWhenLoadsAreProvablyInBounds() {
        // A split of 14 by 4 (guard o*4+i < 14) on 16-element buffers: every lane stays inside.
        Expr x = add(mul(o, idx(4)), i);
        Stmt inner = vloop(i, 4, new Stmt.IfThenElse(lt(x, idx(14)), new Stmt.Store(B, x, new Load(A, x)), null));
        Stmt s = new Stmt.For(o, idx(0), idx(4), ForKind.SERIAL, inner);
        Stmt v = VectorizeLoops.run(s);
        Stmt.For outer = (Stmt.For) v;
        Stmt.Store st = assertInstanceOf(Stmt.Store.class, outer.body(), Printer.print(v));
        assertInstanceOf(Select.class, st.value());
        sameResults(func(s), func(v));

        // Same guard on 14-element buffers: the last vector would read past the end, so the loop stays.
        Buffer a = new Buffer("A", ScalarType.F32, 14), b = new Buffer("B", ScalarType.F32, 14);
        Stmt small = new Stmt.For(o, idx(0), idx(4), ForKind.SERIAL,
                vloop(i, 4, new Stmt.IfThenElse(lt(x, idx(14)), new Stmt.Store(b, x, new Load(a, x)), null)));
        assertEquals(small, VectorizeLoops.run(small));

        // And inside a parallel loop the write-back of old values could race: it stays too.
        Stmt par = new Stmt.For(o, idx(0), idx(4), ForKind.PARALLEL, inner);
        assertEquals(par, VectorizeLoops.run(par));
    }

    @Test
    void vectorLetsAndIfElseOnTheLoopVariable() {
        Var t = new Var("t", dev.kiln.irlow.Type.F32);
        Stmt body = new Stmt.LetStmt(t, mul(new Load(A, i), f32(3)), new Stmt.IfThenElse(lt(i, idx(5)),
                new Stmt.Store(B, i, t), new Stmt.Store(B, i, sub(t, f32(1)))));
        Stmt s = vloop(i, 16, body);
        Stmt v = VectorizeLoops.run(s);
        assertFalse(Vars.anyStmt(v, x -> x instanceof Stmt.For), Printer.print(v));
        sameResults(func(s), func(v));
    }

    @Test
    void loopsThatDoNotQualifyStay() {
        Stmt nested = vloop(i, 4, new Stmt.For(o, idx(0), idx(4), ForKind.SERIAL, new Stmt.Store(B, add(mul(i, idx(4)), o), f32(0))));
        assertEquals(nested, VectorizeLoops.run(nested));
        Stmt tooLong = new Stmt.For(i, idx(0), idx(128), ForKind.VECTORIZED, new Stmt.Store(B, mod(i, idx(16)), f32(0)));
        assertEquals(tooLong, VectorizeLoops.run(tooLong));
        Stmt invariantStore = vloop(i, 4, new Stmt.Store(B, idx(0), new Load(A, i)));
        assertEquals(invariantStore, VectorizeLoops.run(invariantStore));
    }

    @Test
    void matmulWithVectorizedInnerLoopThroughThePipeline() {
        PrimFunc f = Kernels.matmul(4, 16, 5);
        // vectorize C.i1 in the update nest after moving k outside it: for i0 { for k { vectorized C.i1 } }
        Stmt body = reorderInnerTwo(f.body());
        PrimFunc g = LoweringPipeline.run(f.withBody(body), (n, x) -> {});
        assertTrue(Printer.print(g).contains("C[ramp("), Printer.print(g));
        sameResults(f, g);
    }

    /** Swaps the update nest's C.i1 and k loops and vectorizes C.i1 (a hand-made schedule). */
    static Stmt reorderInnerTwo(Stmt s) {
        if (s instanceof Stmt.For f && f.var().name().equals("C.i1") && f.body() instanceof Stmt.For k)
            return new Stmt.For(k.var(), k.min(), k.extent(), k.kind(), new Stmt.For(f.var(), f.min(), f.extent(), ForKind.VECTORIZED, k.body()));
        return Children.map(s, VectorizeLoopsTest::reorderInnerTwo, e -> e);
    }

    @Test
    void pipelineDumpsEachStep() {
        List<String> steps = new ArrayList<>();
        LoweringPipeline.run(Kernels.matmul(2, 2, 2), (n, x) -> steps.add(n));
        assertEquals(List.of("simplify", "vectorize", "simplify-vectors"), steps);
    }
}
