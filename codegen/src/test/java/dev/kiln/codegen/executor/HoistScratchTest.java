package dev.kiln.codegen.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.schedules.ops.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A buffer allocated once per call becomes a parameter; one allocated inside a loop stays. */
class HoistScratchTest {
    private static final Buffer X = new Buffer("x", ScalarType.F32, 8);
    private static final Buffer Y = new Buffer("y", ScalarType.F32, 8);

    private static Stmt copy(Buffer dst, Buffer src, String var) {
        Expr.Var i = Exprs.var(var);
        return new Stmt.For(i, Exprs.idx(0), Exprs.idx(8), ForKind.SERIAL, new Stmt.Store(dst, i, new Expr.Load(src, i)));
    }

    @Test
    void onceACallBufferBecomesAParameterAndAGraphValue() {
        Buffer pad = new Buffer("pad", ScalarType.F32, 8);
        Buffer tile = new Buffer("tile", ScalarType.F32, 8);
        Expr.Var o = Exprs.var("o");
        Stmt perTile = new Stmt.For(o, Exprs.idx(0), Exprs.idx(2), ForKind.PARALLEL,
                new Stmt.Allocate(tile, new Stmt.Seq(List.of(copy(tile, pad, "i"), copy(Y, tile, "j")))));
        Stmt body = new Stmt.Allocate(pad, new Stmt.Seq(List.of(copy(pad, X, "p"), perTile)));
        Graph g = new Graph("g");
        Kernel k = new Kernel(new PrimFunc("k", List.of(X, Y), body), List.of("in"), List.of("out"));

        Kernel h = HoistScratch.run(List.of(k), g).getFirst();

        assertEquals(List.of(X, Y, pad), h.func().params());
        assertEquals(new Stmt.Seq(List.of(copy(pad, X, "p"), perTile)), h.func().body(), "the per-tile buffer stays in its loop");
        assertEquals(List.of("in"), h.inputs());
        assertEquals(List.of("out", "__scratch:k:pad"), h.outputs());
        assertEquals(new Value("__scratch:k:pad", DType.FLOAT32, Shape.of(8)), g.value("__scratch:k:pad"));
    }

    @Test
    void kernelWithoutOnceACallBuffersIsUnchanged() {
        Kernel k = new Kernel(new PrimFunc("k", List.of(X, Y), copy(Y, X, "i")), List.of("in"), List.of("out"));
        assertSame(k, HoistScratch.run(List.of(k), new Graph("g")).getFirst());
    }
}
