package dev.kiln.irlow.lower;

import static dev.kiln.irlow.ScalarType.F32;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.Kernels;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.interp.Interpreter;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import dev.kiln.irlow.transform.Vars;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LowerTeTest {
    @Test
    void matmulMatchesPlainLoops() {
        PrimFunc f = Kernels.matmul(5, 7, 3);
        assertEquals(List.of(new Buffer("A", F32, 15), new Buffer("B", F32, 21), new Buffer("C", F32, 35)), f.params());
        Random r = new Random(1);
        float[] a = Kernels.random(r, 15), b = Kernels.random(r, 21), c = new float[35];
        Interpreter.run(f, List.of(a, b, c));
        assertArrayEquals(Kernels.matmulRef(a, b, 5, 7, 3), c);
    }

    @Test
    void reductionIsAnInitNestThenAnUpdateNestWithReduceLoopsInnermost() {
        PrimFunc f = Kernels.matmul(4, 4, 4);
        List<String> loops = Vars.loops(f.body()).stream().map(l -> l.var().name()).toList();
        assertEquals(List.of("C.i0.init", "C.i1.init", "C.i0", "C.i1", "k"), loops);
        Stmt.Seq seq = (Stmt.Seq) f.body();
        Stmt.For init = (Stmt.For) seq.stmts().get(0);
        Stmt.For inner = (Stmt.For) ((Stmt.For) init.body());
        Buffer c = f.params().get(2);
        Expr i0 = new Expr.Var("C.i0.init", dev.kiln.irlow.Type.INDEX), i1 = new Expr.Var("C.i1.init", dev.kiln.irlow.Type.INDEX);
        assertEquals(new Stmt.For((Expr.Var) i1, idx(0), idx(4), ForKind.SERIAL,
                new Stmt.Store(c, add(mul(i0, idx(4)), i1), f32(0))), inner);
    }

    @Test
    void convWithInlinedPaddingMatchesPlainLoops() {
        PrimFunc f = Kernels.conv(3, 6, 5, 4);
        assertEquals(List.of("X", "W", "Y"), f.params().stream().map(Buffer::name).toList(), "padding is inlined, not a buffer");
        Random r = new Random(2);
        float[] x = Kernels.random(r, 90), w = Kernels.random(r, 108), y = new float[120];
        Interpreter.run(f, List.of(x, w, y));
        assertArrayEquals(Kernels.convRef(x, w, 3, 6, 5, 4), y);
    }

    @Test
    void softmaxMaterializesBothReductions() {
        PrimFunc f = Kernels.softmax(3, 10);
        Stmt.Allocate outer = assertInstanceOf(Stmt.Allocate.class, f.body());
        assertEquals("mx", outer.buffer().name());
        Stmt.Allocate inner = assertInstanceOf(Stmt.Allocate.class, outer.body());
        assertEquals("sum", inner.buffer().name());
        Random r = new Random(3);
        float[] x = Kernels.random(r, 30), y = new float[30];
        Interpreter.run(f, List.of(x, y));
        float[] ref = Kernels.softmaxRef(x, 3, 10);
        for (int i = 0; i < 30; i++) assertEquals(ref[i], y[i], 1e-6f, "element " + i);
    }

    @Test
    void severalOutputsInOrderAndReadingAnEarlierOutput() {
        Placeholder a = Te.placeholder("A", F32, 8);
        Compute b = Te.compute("B", F32, Te.box(8), i -> mul(Te.read(a, i.get(0)), f32(2)));
        Compute c = Te.compute("C", F32, Te.box(8), i -> add(Te.read(b, i.get(0)), f32(1)));
        PrimFunc f = LowerTe.lower("two", List.of(a), List.of(b, c));
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8}, yb = new float[8], yc = new float[8];
        Interpreter.run(f, List.of(x, yb, yc));
        for (int i = 0; i < 8; i++) {
            assertEquals(2 * x[i], yb[i]);
            assertEquals(2 * x[i] + 1, yc[i]);
        }
        var err = assertThrows(IllegalArgumentException.class, () -> LowerTe.lower("two", List.of(a), List.of(c, b)));
        assertTrue(err.getMessage().contains("before it is computed"), err.getMessage());
    }

    @Test
    void maxAndMinIdentitiesForInts() {
        assertEquals(intImm(dev.kiln.irlow.ScalarType.I8, -128), LowerTe.identity(Expr.ReduceOp.MAX, dev.kiln.irlow.ScalarType.I8));
        assertEquals(intImm(dev.kiln.irlow.ScalarType.U8, 255), LowerTe.identity(Expr.ReduceOp.MIN, dev.kiln.irlow.ScalarType.U8));
        assertEquals(new Expr.FloatImm(dev.kiln.irlow.Type.F32, Double.NEGATIVE_INFINITY), LowerTe.identity(Expr.ReduceOp.MAX, F32));
    }

    @Test
    void duplicateLoopNamesAreRejected() {
        Placeholder a = Te.placeholder("A", F32, 4, 4);
        Expr.Var k = Te.reduceAxis("k");
        Compute s1 = Te.compute("S1", F32, Te.box(4), i -> Te.sum(Te.read(a, i.get(0), k), List.of(k), Te.box(4)));
        Compute s2 = Te.compute("S2", F32, Te.box(4), i -> Te.sum(Te.read(a, k, i.get(0)), List.of(k), Te.box(4)));
        var err = assertThrows(IllegalArgumentException.class, () -> LowerTe.lower("f", List.of(a), List.of(s1, s2)));
        assertTrue(err.getMessage().contains("two loops are named k"), err.getMessage());
    }

    @Test
    void readingATensorThatIsNotAnInputIsAnError() {
        Placeholder a = Te.placeholder("A", F32, 4), b = Te.placeholder("B", F32, 4);
        Compute c = Te.compute("C", F32, Te.box(4), i -> add(Te.read(a, i.get(0)), Te.read(b, i.get(0))));
        var err = assertThrows(IllegalArgumentException.class, () -> LowerTe.lower("f", List.of(a), List.of(c)));
        assertTrue(err.getMessage().contains("B is read but is not among the inputs"), err.getMessage());
    }
}
