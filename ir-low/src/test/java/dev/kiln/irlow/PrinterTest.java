package dev.kiln.irlow;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import org.junit.jupiter.api.Test;

class PrinterTest {
    @Test
    void printsLoopsStoresAndPrecedence() {
        Buffer c = new Buffer("C", ScalarType.F32, 1024 * 1024), a = new Buffer("A", ScalarType.F32, 1024 * 1024);
        Expr.Var i0 = var("C.i0"), o = var("C.i1.o"), i = var("C.i1.i");
        Expr index = add(mul(i0, idx(1024)), add(mul(o, idx(16)), i));
        Stmt body = new Stmt.For(i0, idx(0), idx(1024), ForKind.PARALLEL, new Stmt.For(o, idx(0), idx(64), ForKind.SERIAL,
                new Stmt.For(i, idx(0), idx(16), ForKind.VECTORIZED,
                        new Stmt.Store(c, index, mul(add(new Expr.Load(a, index), f32(1)), f32(2))))));
        assertEquals("""
                func f(A: f32[1048576], C: f32[1048576]) {
                  parallel (C.i0, 0, 1024) {
                    for (C.i1.o, 0, 64) {
                      vectorized (C.i1.i, 0, 16) {
                        C[C.i0*1024 + (C.i1.o*16 + C.i1.i)] = (A[C.i0*1024 + (C.i1.o*16 + C.i1.i)] + 1.0f)*2.0f
                      }
                    }
                  }
                }
                """, Printer.print(new PrimFunc("f", java.util.List.of(a, c), body)));
    }

    @Test
    void printsScopesOnlyWhenNotGlobalAndBarriers() {
        assertEquals("""
                func block_reverse(A: f32[16], B: f32[16]) {
                  gpu_block_x (bx, 0, 2) {
                    allocate shared tile: f32[8]
                    gpu_thread_x (tx.load, 0, 8) {
                      tile[tx.load] = A[bx*8 + tx.load]
                    }
                    barrier shared
                    gpu_thread_x (tx.store, 0, 8) {
                      allocate register r: f32[1]
                      r[0] = tile[7 - tx.store]
                      B[bx*8 + tx.store] = r[0]*2.0f
                    }
                  }
                }
                """, Printer.print(Kernels.blockReverse(2, 8)));
        Buffer global = new Buffer("T", ScalarType.F32, 4);
        assertEquals("allocate T: f32[4]\n// nothing\n", Printer.print(new Stmt.Allocate(global, new Stmt.Seq(java.util.List.of()))));
        assertEquals("barrier global\n", Printer.print(new Stmt.Barrier(MemoryScope.GLOBAL)));
    }

    @Test
    void printsExpressions() {
        Expr x = var("x"), y = var("y");
        assertEquals("x - 3", Printer.print(add(x, idx(-3))));
        assertEquals("x - (y - 1)", Printer.print(sub(x, sub(y, idx(1)))));
        assertEquals("(x + y) % 8", Printer.print(mod(add(x, y), idx(8))));
        assertEquals("x < y && !(x == 2)", Printer.print(and(lt(x, y), new Expr.Not(cmp(dev.kiln.irlow.expr.CmpOp.EQ, x, idx(2))))));
        assertEquals("select(x < y, x4(1.5f), ramp(x, 1, 4))",
                Printer.print(select(lt(x, y), new Expr.Broadcast(f32(1.5), 4), new Expr.Ramp(x, idx(1), 4))));
        assertEquals("f32(x) + (-inf)", Printer.print(add(cast(ScalarType.F32, x), f32(Double.NEGATIVE_INFINITY))));
    }
}
