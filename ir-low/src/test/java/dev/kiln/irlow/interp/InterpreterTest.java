package dev.kiln.irlow.interp;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.Kernels;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InterpreterTest {
    /** Evaluates a scalar expression by storing it into a one-element buffer. */
    static Object eval(Expr e) {
        Buffer out = new Buffer("out", e.type().scalar(), 1);
        Object storage = Interpreter.newStorage(out);
        Interpreter.run(new PrimFunc("t", List.of(out), new Stmt.Store(out, idx(0), e)), List.of(storage));
        return storage;
    }

    static long evalLong(Expr e) {
        return ((long[]) eval(e))[0];
    }

    static double evalDouble(Expr e) {
        Object s = eval(e);
        return s instanceof float[] f ? f[0] : ((double[]) s)[0];
    }

    static Expr i32(long v) {
        return intImm(ScalarType.I32, v);
    }

    @Test
    void integerArithmeticWrapsToItsWidth() {
        assertEquals(Integer.MIN_VALUE, evalLong(add(i32(Integer.MAX_VALUE), i32(1))));
        assertEquals(-128, evalLong(add(intImm(ScalarType.I8, 127), intImm(ScalarType.I8, 1))));
        assertEquals(0, evalLong(add(intImm(ScalarType.U8, 255), intImm(ScalarType.U8, 1))));
        assertEquals(0xFFFFFFFFL, evalLong(sub(intImm(ScalarType.U32, 0), intImm(ScalarType.U32, 1))));
    }

    @Test
    void integerDivAndModAreFloor() {
        assertEquals(-3, evalLong(div(i32(-7), i32(3))));
        assertEquals(2, evalLong(mod(i32(-7), i32(3))));
        assertEquals(-2, evalLong(mod(i32(7), i32(-3))));
        assertEquals(-3, evalLong(div(i32(7), i32(-3))));
        assertThrows(ArithmeticException.class, () -> evalLong(div(i32(1), i32(0))));
    }

    @Test
    void unsigned64ComparesAndDividesUnsigned() {
        Expr big = intImm(ScalarType.U64, -1); // 2^64 - 1
        assertEquals(1, evalLong(lt(intImm(ScalarType.U64, 1), big)));
        assertEquals(Long.divideUnsigned(-1, 3), evalLong(div(big, intImm(ScalarType.U64, 3))));
        assertEquals(0x1p64, evalDouble(cast(ScalarType.F64, big)));
    }

    @Test
    void floatModIsFmodAndCastTruncates() {
        assertEquals(-1.0, evalDouble(mod(new Expr.FloatImm(Type.F64, -7), new Expr.FloatImm(Type.F64, 3))));
        assertEquals(-2, evalLong(cast(ScalarType.I32, f32(-2.7))));
        assertEquals(2, evalLong(cast(ScalarType.I32, f32(2.7))));
        assertEquals(44, evalLong(cast(ScalarType.U8, i32(300))));
        assertEquals(1, evalLong(cast(ScalarType.BOOL, f32(0.5))));
    }

    @Test
    void f32IsRoundedAfterEveryOperation() {
        // 1 + 2^-30 is 1 in float; in double it would survive the subtraction.
        Expr e = sub(add(f32(1), f32(0x1p-30)), f32(1));
        assertEquals(0.0, evalDouble(e));
        Expr d = sub(add(new Expr.FloatImm(Type.F64, 1), new Expr.FloatImm(Type.F64, 0x1p-30)), new Expr.FloatImm(Type.F64, 1));
        assertEquals(0x1p-30, evalDouble(d));
    }

    @Test
    void f16IsRoundedToHalf() {
        Expr h = new Expr.FloatImm(Type.of(ScalarType.F16), 1);
        Expr e = add(h, new Expr.FloatImm(Type.of(ScalarType.F16), 0x1p-12)); // below half's epsilon 2^-10
        assertEquals(1.0, evalDouble(e));
        assertEquals(2047.0, evalDouble(new Expr.FloatImm(Type.of(ScalarType.F16), 2047)));
        assertEquals(2048.0, evalDouble(new Expr.FloatImm(Type.of(ScalarType.F16), 2049)));
    }

    @Test
    void erfIsPreciseToDoublePrecision() {
        double[][] known = {{0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
                {2, 0.9953222650189527}, {2.5, 0.9995930479825550}, {3, 0.9999779095030014}, {-1.5, -0.9661051464753108},
                {4, 0.9999999845827421}};
        for (double[] k : known) assertEquals(k[1], Erf.erf(k[0]), 4 * Math.ulp(k[1]), "erf(" + k[0] + ")");
        assertEquals(0.0, Erf.erf(0.0));
        assertEquals(1.0, Erf.erf(10));
    }

    @Test
    void intrinsicsUseJavaMath() {
        Expr x = new Expr.FloatImm(Type.F64, 0.3);
        assertEquals(Math.exp(0.3), evalDouble(call(Intrinsic.EXP, x)));
        assertEquals(1 / (1 + Math.exp(-0.3)), evalDouble(call(Intrinsic.SIGMOID, x)));
        assertEquals(2.0, evalDouble(call(Intrinsic.ROUND_EVEN, new Expr.FloatImm(Type.F64, 2.5))));
        assertEquals(Math.pow(0.3, 0.3), evalDouble(call(Intrinsic.POW, x, x)));
    }

    @Test
    void outOfBoundsLoadNamesTheBuffer() {
        Buffer a = new Buffer("A", ScalarType.F32, 4), b = new Buffer("B", ScalarType.F32, 5);
        Expr.Var i = var("i");
        Stmt s = new Stmt.For(i, idx(0), idx(5), ForKind.SERIAL, new Stmt.Store(b, i, new Expr.Load(a, i)));
        var err = assertThrows(IndexOutOfBoundsException.class,
                () -> Interpreter.run(new PrimFunc("f", List.of(a, b), s), List.of(new float[4], new float[5])));
        assertTrue(err.getMessage().contains("A[4]") && err.getMessage().contains("4 elements"), err.getMessage());
    }

    @Test
    void selectEvaluatesBothSides() {
        Buffer a = new Buffer("A", ScalarType.F32, 4);
        Expr s = select(lt(idx(5), idx(4)), new Expr.Load(a, idx(5)), f32(0));
        Buffer out = new Buffer("out", ScalarType.F32, 1);
        PrimFunc f = new PrimFunc("f", List.of(a, out), new Stmt.Store(out, idx(0), s));
        assertThrows(IndexOutOfBoundsException.class, () -> Interpreter.run(f, List.of(new float[4], new float[1])));
    }

    @Test
    void vectorsRampsBroadcastsGathersAndScatters() {
        Buffer a = new Buffer("A", ScalarType.F32, 8), b = new Buffer("B", ScalarType.F32, 8);
        // B[ramp(7,-1,4)] = A[ramp(0,2,4)] + x4(10)   (reverse scatter of a strided gather)
        Expr gather = new Expr.Load(a, new Expr.Ramp(idx(0), idx(2), 4));
        Stmt s = new Stmt.Store(b, new Expr.Ramp(idx(7), idx(-1), 4), add(gather, new Expr.Broadcast(f32(10), 4)));
        // a vector let, then a contiguous store: B[ramp(0,1,4)] = v * v
        Expr.Var v = new Expr.Var("v", Type.F32.withLanes(4));
        Stmt s2 = new Stmt.LetStmt(v, new Expr.Load(a, new Expr.Ramp(idx(4), idx(1), 4)),
                new Stmt.Store(b, new Expr.Ramp(idx(0), idx(1), 4), mul(v, v)));
        float[] x = {0, 1, 2, 3, 4, 5, 6, 7}, y = new float[8];
        Interpreter.run(new PrimFunc("f", List.of(a, b), new Stmt.Seq(List.of(s, s2))), List.of(x, y));
        assertArrayEquals(new float[] {16, 25, 36, 49, 16, 14, 12, 10}, y);
    }

    @Test
    void vectorStoreReadsAllLanesBeforeWriting() {
        Buffer a = new Buffer("A", ScalarType.I32, 5);
        // A[ramp(1,1,4)] = A[ramp(0,1,4)]: a shift, which a lane-by-lane store would smear.
        Stmt s = new Stmt.Store(a, new Expr.Ramp(idx(1), idx(1), 4), new Expr.Load(a, new Expr.Ramp(idx(0), idx(1), 4)));
        long[] x = {1, 2, 3, 4, 5};
        Interpreter.run(new PrimFunc("f", List.of(a), s), List.of(x));
        assertArrayEquals(new long[] {1, 1, 2, 3, 4}, x);
    }

    @Test
    void allocatedBuffersStartAsNaN() {
        Buffer t = new Buffer("T", ScalarType.F32, 2), out = new Buffer("out", ScalarType.F32, 1);
        Stmt s = new Stmt.Allocate(t, new Stmt.Store(out, idx(0), new Expr.Load(t, idx(1))));
        float[] y = new float[1];
        Interpreter.run(new PrimFunc("f", List.of(out), s), List.of(y));
        assertTrue(Float.isNaN(y[0]));
    }

    @Test
    void gpuKernelWithSharedTileBarrierAndRegisterRunsBlockByBlock() {
        int blocks = 3, threads = 8;
        float[] a = Kernels.random(new Random(7), blocks * threads), b = new float[blocks * threads];
        Interpreter.run(Kernels.blockReverse(blocks, threads), List.of(a, b));
        assertArrayEquals(Kernels.blockReverseRef(a, blocks, threads), b);
    }

    @Test
    void threadsOfANestWithABarrierRunAtOnceAndMeetThere() {
        Buffer a = new Buffer("A", ScalarType.F32, 8), s = new Buffer("S", ScalarType.F32, 8, MemoryScope.SHARED);
        Expr.Var ty = var("ty"), tx = var("tx"), step = var("step");
        Expr t = add(mul(ty, idx(4)), tx); // 2 x 4 threads
        // Three rounds: each thread publishes its value, waits, takes its mirror's, waits again.
        // One thread after another, thread 0 would read its mirror's slot before it was written.
        Stmt round = new Stmt.Seq(List.of(
                new Stmt.Store(s, t, new Expr.Load(a, t)),
                new Stmt.Barrier(MemoryScope.SHARED),
                new Stmt.Store(a, t, add(new Expr.Load(s, sub(idx(7), t)), f32(1))),
                new Stmt.Barrier(MemoryScope.SHARED)));
        Stmt body = new Stmt.Allocate(s, new Stmt.For(ty, idx(0), idx(2), ForKind.GPU_THREAD_Y,
                new Stmt.For(tx, idx(0), idx(4), ForKind.GPU_THREAD_X, new Stmt.For(step, idx(0), idx(3), ForKind.SERIAL, round))));
        float[] x = {0, 1, 2, 3, 4, 5, 6, 7};
        Interpreter.run(new PrimFunc("f", List.of(a), body), List.of(x));
        // After three mirrorings (odd), element i holds original[7 - i] + 3.
        for (int i = 0; i < 8; i++) assertEquals(7 - i + 3, x[i], "element " + i);
    }

    @Test
    void aThreadThatFailsDoesNotHangTheOthersAtTheBarrier() {
        Buffer a = new Buffer("A", ScalarType.F32, 4);
        Expr.Var tx = var("tx");
        // Thread 3 reads out of bounds before the barrier; the others must not wait for it for ever.
        Stmt body = new Stmt.For(tx, idx(0), idx(4), ForKind.GPU_THREAD_X, new Stmt.Seq(List.of(
                new Stmt.Store(a, tx, new Expr.Load(a, mul(tx, idx(2)))),
                new Stmt.Barrier(MemoryScope.SHARED))));
        assertThrows(IndexOutOfBoundsException.class, () -> Interpreter.run(new PrimFunc("f", List.of(a), body), List.of(new float[4])));
    }

    @Test
    void wrongArgumentsAreClearErrors() {
        Buffer a = new Buffer("A", ScalarType.F32, 4);
        PrimFunc f = new PrimFunc("f", List.of(a), new Stmt.Seq(List.of()));
        var e1 = assertThrows(IllegalArgumentException.class, () -> Interpreter.run(f, List.of(new double[4])));
        assertTrue(e1.getMessage().contains("float[]"), e1.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Interpreter.run(f, List.of(new float[3])));
        assertTrue(e2.getMessage().contains("4 elements"), e2.getMessage());
        PrimFunc g = new PrimFunc("g", List.of(a), new Stmt.Store(a, var("i"), f32(0)));
        var e3 = assertThrows(IllegalArgumentException.class, () -> Interpreter.run(g, List.of(new float[4])));
        assertTrue(e3.getMessage().contains("variable i"), e3.getMessage());
    }
}
