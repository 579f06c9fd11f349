package dev.kiln.codegen.llvm;

import static dev.kiln.codegen.llvm.KernelCodegenTest.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Integer floor division, min/max, comparisons, selects and bools against Java's arithmetic. */
class ArithmeticTest {
    static final int N = 64;

    /** q_k[i] = a[i] floordiv D_k, r_k[i] = a[i] floormod D_k for constant and loaded divisors, scalar and 16-lane. */
    @ParameterizedTest
    @EnumSource(value = ScalarType.class, names = {"I8", "I16", "I32", "I64"})
    void floorDivisionAndModulo(ScalarType t) {
        long[] divisors = {4, 3, -3, -4, 1, 7, 16};
        long[] a = new long[N], b = new long[N];
        long[] loaded = {3, -3, 5, -7, 1, -1, 2, -8, 16};
        for (int i = 0; i < N; i++) {
            a[i] = i * 3L - 97;
            b[i] = loaded[i % loaded.length];
        }
        Buffer in = new Buffer("a", t, N), div = new Buffer("b", t, N);
        List<Buffer> params = new ArrayList<>(List.of(in, div));
        List<Stmt> scalar = new ArrayList<>(), vector = new ArrayList<>();
        Expr.Var i = var("i"), io = var("io");
        Expr vi = new Expr.Ramp(mul(io, idx(16)), idx(1), 16);
        int outputs = divisors.length + 1;
        for (int k = 0; k < outputs; k++) {
            Buffer q = new Buffer("q" + k, t, 2 * N), r = new Buffer("r" + k, t, 2 * N);
            params.add(q);
            params.add(r);
            Expr ds = k < divisors.length ? intImm(t, divisors[k]) : new Expr.Load(div, i);
            Expr dv = k < divisors.length ? new Expr.Broadcast(intImm(t, divisors[k]), 16) : new Expr.Load(div, vi);
            scalar.add(new Stmt.Store(q, i, div(new Expr.Load(in, i), ds)));
            scalar.add(new Stmt.Store(r, i, mod(new Expr.Load(in, i), ds)));
            Expr vo = new Expr.Ramp(add(mul(io, idx(16)), idx(N)), idx(1), 16);
            vector.add(new Stmt.Store(q, vo, div(new Expr.Load(in, vi), dv)));
            vector.add(new Stmt.Store(r, vo, mod(new Expr.Load(in, vi), dv)));
        }
        Stmt body = seq(loop(i, N, ForKind.SERIAL, new Stmt.Seq(scalar)), loop(io, N / 16, ForKind.SERIAL, new Stmt.Seq(vector)));
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("floordiv", params, body)); Arena arena = Arena.ofConfined()) {
            MemorySegment[] args = new MemorySegment[params.size()];
            args[0] = Mem.longs(arena, t, a);
            args[1] = Mem.longs(arena, t, b);
            for (int k = 2; k < args.length; k++) args[k] = Mem.alloc(arena, t, 2 * N);
            jit.call("floordiv", 1, args);
            for (int k = 0; k < outputs; k++) {
                for (int e = 0; e < 2 * N; e++) {
                    int j = e % N;
                    long d = k < divisors.length ? divisors[k] : b[j];
                    String where = t + " " + a[j] + " by " + d + (e >= N ? " (vector)" : "");
                    assertEquals(Math.floorDiv(a[j], d), Mem.getLong(args[2 + 2 * k], t, e), "floordiv " + where);
                    assertEquals(Math.floorMod(a[j], d), Mem.getLong(args[3 + 2 * k], t, e), "floormod " + where);
                }
            }
        }
    }

    @Test
    void unsignedDivisionAndModulo() {
        ScalarType t = ScalarType.U32;
        long[] a = {0, 1, 7, 0x7fffffffL, 0x80000000L, 0xfffffffeL, 0xffffffffL, 12345678};
        long[] b = {3, 4, 0x80000001L, 7, 3, 0xffffffffL, 2, 10};
        Buffer in = new Buffer("a", t, 8), div = new Buffer("b", t, 8);
        Buffer q = new Buffer("q", t, 8), r = new Buffer("r", t, 8), q3 = new Buffer("q3", t, 8), r4 = new Buffer("r4", t, 8);
        Expr.Var i = var("i");
        Stmt body = loop(i, 8, ForKind.SERIAL, seq(
                new Stmt.Store(q, i, div(new Expr.Load(in, i), new Expr.Load(div, i))),
                new Stmt.Store(r, i, mod(new Expr.Load(in, i), new Expr.Load(div, i))),
                new Stmt.Store(q3, i, div(new Expr.Load(in, i), intImm(t, 3))),
                new Stmt.Store(r4, i, mod(new Expr.Load(in, i), intImm(t, 4)))));
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("udiv", List.of(in, div, q, r, q3, r4), body));
             Arena arena = Arena.ofConfined()) {
            MemorySegment[] out = {Mem.alloc(arena, t, 8), Mem.alloc(arena, t, 8), Mem.alloc(arena, t, 8), Mem.alloc(arena, t, 8)};
            jit.call("udiv", 1, Mem.longs(arena, t, a), Mem.longs(arena, t, b), out[0], out[1], out[2], out[3]);
            for (int e = 0; e < 8; e++) {
                assertEquals(Long.divideUnsigned(a[e], b[e]), Mem.getLong(out[0], t, e));
                assertEquals(Long.remainderUnsigned(a[e], b[e]), Mem.getLong(out[1], t, e));
                assertEquals(a[e] / 3, Mem.getLong(out[2], t, e));
                assertEquals(a[e] % 4, Mem.getLong(out[3], t, e));
            }
        }
    }

    /**
     * out[i] = a[(i - 17) floordiv 4 + 8] * 2 + float((i - 17) floormod 5): negative dividends in
     * an index; the 16-lane version turns the index into a gather.
     */
    @Test
    void scaledCopyWithFloorIndices() {
        int n = 64;
        Buffer a = new Buffer("a", ScalarType.F32, 32), out = new Buffer("out", ScalarType.F32, 2 * n);
        Expr.Var i = var("i"), io = var("io");
        Stmt scalar = loop(i, n, ForKind.SERIAL, new Stmt.Store(out, i, scaled(a, i, 1)));
        Expr vi = new Expr.Ramp(mul(io, idx(16)), idx(1), 16);
        Stmt vector = loop(io, n / 16, ForKind.SERIAL,
                new Stmt.Store(out, new Expr.Ramp(add(mul(io, idx(16)), idx(n)), idx(1), 16), scaled(a, vi, 16)));
        float[] x = new float[32];
        for (int k = 0; k < 32; k++) x[k] = k * 0.5f - 3;
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("scaled", List.of(a, out), seq(scalar, vector)));
             Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(8L * n, 4);
            jit.call("scaled", 1, floats(arena, x), o);
            float[] got = floats(o, 2 * n);
            for (int e = 0; e < 2 * n; e++) {
                int k = e % n;
                float want = x[Math.floorDiv(k - 17, 4) + 8] * 2 + Math.floorMod(k - 17, 5);
                assertEquals(want, got[e], 0f, "element " + e);
            }
        }
    }

    private static Expr scaled(Buffer a, Expr i, int lanes) {
        Expr c17 = lanes == 1 ? idx(17) : new Expr.Broadcast(idx(17), lanes);
        Expr shifted = sub(i, c17);
        Expr index = add(div(shifted, bc(idx(4), lanes)), bc(idx(8), lanes));
        return add(mul(new Expr.Load(a, index), bc(f32(2), lanes)), cast(ScalarType.F32, mod(shifted, bc(idx(5), lanes))));
    }

    static Expr bc(Expr e, int lanes) {
        return lanes == 1 ? e : new Expr.Broadcast(e, lanes);
    }

    /**
     * Min, max, compares, and/or/not, select, let, and bools in memory (one byte each), scalar and
     * 16-lane, on floats and signed/unsigned ints.
     */
    @Test
    void logicAndSelection() {
        int n = 48;
        float[] x = new float[n], y = new float[n];
        long[] u = new long[n], s = new long[n];
        boolean[] m = new boolean[n];
        for (int k = 0; k < n; k++) {
            x[k] = (k % 7) - 3f;
            y[k] = (k % 5) * 0.75f - 1.5f;
            u[k] = (k * 37L) % 256;
            s[k] = (k * 11L) % 41 - 20;
            m[k] = k % 3 == 1;
        }
        Buffer bx = new Buffer("x", ScalarType.F32, n), by = new Buffer("y", ScalarType.F32, n);
        Buffer bu = new Buffer("u", ScalarType.U8, n), bs = new Buffer("s", ScalarType.I32, n), bm = new Buffer("m", ScalarType.BOOL, n);
        Buffer fmin = new Buffer("fmin", ScalarType.F32, 2 * n), fmax = new Buffer("fmax", ScalarType.F32, 2 * n);
        Buffer umax = new Buffer("umax", ScalarType.U8, 2 * n), smin = new Buffer("smin", ScalarType.I32, 2 * n);
        Buffer sel = new Buffer("sel", ScalarType.F32, 2 * n), cmp = new Buffer("cmp", ScalarType.BOOL, 2 * n);
        List<Stmt> scalar = bodyFor(var("i"), 1, bx, by, bu, bs, bm, fmin, fmax, umax, smin, sel, cmp, 0);
        Expr.Var io = var("io");
        List<Stmt> vector = bodyFor(io, 16, bx, by, bu, bs, bm, fmin, fmax, umax, smin, sel, cmp, n);
        Stmt body = seq(loop(var("i"), n, ForKind.SERIAL, new Stmt.Seq(scalar)), loop(io, n / 16, ForKind.SERIAL, new Stmt.Seq(vector)));
        List<Buffer> params = List.of(bx, by, bu, bs, bm, fmin, fmax, umax, smin, sel, cmp);
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("logic", params, body)); Arena arena = Arena.ofConfined()) {
            MemorySegment[] args = new MemorySegment[params.size()];
            args[0] = floats(arena, x);
            args[1] = floats(arena, y);
            args[2] = Mem.longs(arena, ScalarType.U8, u);
            args[3] = Mem.longs(arena, ScalarType.I32, s);
            long[] mb = new long[n];
            for (int k = 0; k < n; k++) mb[k] = m[k] ? 1 : 0;
            args[4] = Mem.longs(arena, ScalarType.BOOL, mb);
            for (int k = 5; k < args.length; k++) args[k] = Mem.alloc(arena, params.get(k).dtype(), 2 * n);
            jit.call("logic", 1, args);
            for (int e = 0; e < 2 * n; e++) {
                int k = e % n;
                String where = "element " + e;
                assertEquals(Math.min(x[k], y[k]), (float) Mem.getDouble(args[5], ScalarType.F32, e), where);
                assertEquals(Math.max(x[k], y[k]), (float) Mem.getDouble(args[6], ScalarType.F32, e), where);
                assertEquals(Math.max(u[k], 100), Mem.getLong(args[7], ScalarType.U8, e), where);
                assertEquals(Math.min(s[k], -3), Mem.getLong(args[8], ScalarType.I32, e), where);
                float t2 = x[k] * 2;
                boolean c = (x[k] < y[k] && !(x[k] == 0)) || y[k] >= 1.5f || m[k];
                assertEquals(c ? t2 + y[k] : t2 - y[k], (float) Mem.getDouble(args[9], ScalarType.F32, e), where);
                boolean stored = x[k] != y[k] && u[k] > 128;
                assertEquals(stored ? 1 : 0, Mem.getLong(args[10], ScalarType.BOOL, e), where);
            }
        }
    }

    private static List<Stmt> bodyFor(Expr.Var v, int lanes, Buffer x, Buffer y, Buffer u, Buffer s, Buffer m, Buffer fmin,
                                      Buffer fmax, Buffer umax, Buffer smin, Buffer sel, Buffer cmp, int offset) {
        Expr in = lanes == 1 ? v : new Expr.Ramp(mul(v, idx(lanes)), idx(1), lanes);
        Expr out = lanes == 1 ? add(v, idx(offset)) : new Expr.Ramp(add(mul(v, idx(lanes)), idx(offset)), idx(1), lanes);
        Expr lx = new Expr.Load(x, in), ly = new Expr.Load(y, in);
        Expr.Var t2 = new Expr.Var("t2." + lanes, new Type(ScalarType.F32, lanes));
        Expr cond = new Expr.Or(new Expr.Or(and(lt(lx, ly), new Expr.Not(cmp(CmpOp.EQ, lx, bc(f32(0), lanes)))),
                cmp(CmpOp.GE, ly, bc(f32(1.5), lanes))), new Expr.Load(m, in));
        return List.of(
                new Stmt.Store(fmin, out, min(lx, ly)),
                new Stmt.Store(fmax, out, max(lx, ly)),
                new Stmt.Store(umax, out, max(new Expr.Load(u, in), bc(intImm(ScalarType.U8, 100), lanes))),
                new Stmt.Store(smin, out, min(new Expr.Load(s, in), bc(intImm(ScalarType.I32, -3), lanes))),
                new Stmt.LetStmt(t2, mul(lx, bc(f32(2), lanes)),
                        new Stmt.Store(sel, out, select(cond, add(t2, ly), sub(t2, ly)))),
                new Stmt.Store(cmp, out, and(cmp(CmpOp.NE, lx, ly),
                        cmp(CmpOp.GT, new Expr.Load(u, in), bc(intImm(ScalarType.U8, 128), lanes)))));
    }
}
