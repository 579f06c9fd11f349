package dev.kiln.codegen.opencl;

import static dev.kiln.irlow.ScalarType.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.interp.Interpreter;
import dev.kiln.irlow.lower.LowerTe;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import dev.kiln.irlow.transform.VectorizeLoops;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * Correctness: printed OpenCL C, built and run on the machine's OpenCL device (PoCL here), gives
 * what Kiln's interpreter gives on the same inputs. Integers must match exactly; floats within
 * |a - b| <= 1e-5 + 1e-5 |b| (OpenCL's builtins are within 16 ulp of exact, 1e-6 relative in f32),
 * NaN matching NaN.
 */
class OpenClCorrectnessTest {
    private static final double TOL = 1e-5;

    private static Expr load(Buffer b, Expr i) {
        return new Expr.Load(b, i);
    }

    private static Stmt store(Buffer b, Expr i, Expr v) {
        return new Stmt.Store(b, i, v);
    }

    private static Stmt loop(Expr.Var v, long n, ForKind kind, Stmt body) {
        return new Stmt.For(v, idx(0), idx(n), kind, body);
    }

    private static Stmt seq(Stmt... s) {
        return new Stmt.Seq(List.of(s));
    }

    private static Expr i32(long v) {
        return intImm(I32, v);
    }

    /** Runs {@code f} in the interpreter and on the device from copies of {@code args}; returns the printed source. */
    static String checkAgainstInterpreter(PrimFunc f, List<Object> args) {
        OpenClRunner runner = OpenClRunner.get();
        List<Object> expected = copy(args), actual = copy(args);
        Interpreter.run(f, expected);
        String source = OpenClPrinter.program(List.of(f));
        runner.run(source, Names.sanitize(f.name()), f, actual);
        for (int p = 0; p < args.size(); p++) {
            String what = f.name() + ": buffer " + f.params().get(p).name();
            Object e = expected.get(p), a = actual.get(p);
            int n = java.lang.reflect.Array.getLength(e);
            for (int i = 0; i < n; i++) {
                String at = what + "[" + i + "]";
                if (e instanceof long[] le) {
                    long x = le[i], y = ((long[]) a)[i];
                    if (x != y) throw new AssertionError(at + ": interpreter " + x + ", OpenCL " + y + "\n" + source);
                } else {
                    double x = e instanceof float[] fe ? fe[i] : ((double[]) e)[i];
                    double y = a instanceof float[] fa ? fa[i] : ((double[]) a)[i];
                    boolean ok = Double.isNaN(x) ? Double.isNaN(y) : x == y || Math.abs(x - y) <= TOL + TOL * Math.abs(x);
                    if (!ok) throw new AssertionError(at + ": interpreter " + x + ", OpenCL " + y + "\n" + source);
                }
            }
        }
        return source;
    }

    private static List<Object> copy(List<Object> args) {
        List<Object> out = new ArrayList<>();
        for (Object a : args) {
            out.add(switch (a) {
                case float[] x -> x.clone();
                case double[] x -> x.clone();
                case long[] x -> x.clone();
                default -> throw new IllegalArgumentException();
            });
        }
        return out;
    }

    private static float[] inputs(int n, long seed) {
        float[] specials = {0f, -0f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 1e-3f, 30f, -30f, 88f, -100f, Float.NaN,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-30f};
        float[] x = new float[n];
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) x[i] = i < specials.length ? specials[i] : (float) (r.nextGaussian() * 3);
        return x;
    }

    /** The byte dot product spelled out in OpenCL C equals the interpreter's, scalar and at 4, 8 and 16 lanes, extremes included. */
    @Test
    void dot4() {
        int n = 64;
        java.util.Random r = new java.util.Random(11);
        Buffer acc = new Buffer("acc", I32, n), a = new Buffer("a", I32, n), b = new Buffer("b", I32, n);
        List<Buffer> params = new java.util.ArrayList<>(List.of(acc, a, b));
        List<Stmt> loops = new java.util.ArrayList<>();
        List<Object> args = new java.util.ArrayList<>();
        long[][] in = new long[3][n];
        for (long[] x : in) for (int i = 0; i < n; i++) x[i] = r.nextInt();
        in[0][0] = Integer.MIN_VALUE;
        in[1][0] = -1;
        in[2][0] = 0x80808080L - (1L << 32);
        for (long[] x : in) args.add(x);
        for (int lanes : new int[] {1, 4, 8, 16}) {
            Buffer out = new Buffer("out" + lanes, I32, n);
            params.add(out);
            args.add(new long[n]);
            Expr.Var i = var("i" + lanes);
            Expr at = lanes == 1 ? i : new Expr.Ramp(mul(i, idx(lanes)), idx(1), lanes);
            loops.add(loop(i, n / lanes, ForKind.SERIAL, store(out, at,
                    call(dev.kiln.irlow.expr.Intrinsic.DOT4_U8S8, load(acc, at), load(a, at), load(b, at)))));
        }
        checkAgainstInterpreter(new PrimFunc("dot4", params, new Stmt.Seq(loops)), args);
    }

    @Test
    void elementwiseMathOnAGpuGrid() {
        int n = 256;
        Buffer x = new Buffer("X", F32, n), w = new Buffer("W", F32, n);
        Expr.Var bx = var("bx"), tx = var("tx"), i = var("i");
        Expr xi = load(x, i), wi = load(w, i);
        Expr unit = div(xi, add(call(Intrinsic.ABS, xi), f32(1))); // in (-1, 1)
        List<BiFunction<Expr, Expr, Expr>> fns = List.of(
                (a, b) -> call(Intrinsic.EXP, a),
                (a, b) -> call(Intrinsic.LOG, call(Intrinsic.ABS, a)),
                (a, b) -> call(Intrinsic.SQRT, call(Intrinsic.ABS, a)),
                (a, b) -> call(Intrinsic.TANH, a),
                (a, b) -> call(Intrinsic.ERF, a),
                (a, b) -> call(Intrinsic.SIGMOID, a),
                (a, b) -> add(mul(f32(0.5), call(Intrinsic.TANH, mul(a, f32(0.5)))), f32(0.5)),
                (a, b) -> call(Intrinsic.POW, call(Intrinsic.ABS, a), b),
                (a, b) -> call(Intrinsic.FLOOR, a),
                (a, b) -> call(Intrinsic.CEIL, a),
                (a, b) -> call(Intrinsic.ROUND_EVEN, a),
                (a, b) -> call(Intrinsic.SIN, a),
                (a, b) -> call(Intrinsic.COS, a),
                (a, b) -> call(Intrinsic.TAN, a),
                (a, b) -> call(Intrinsic.ASIN, unit),
                (a, b) -> call(Intrinsic.ACOS, unit),
                (a, b) -> call(Intrinsic.ATAN, a),
                (a, b) -> call(Intrinsic.SINH, a),
                (a, b) -> call(Intrinsic.COSH, a),
                (a, b) -> call(Intrinsic.ASINH, a),
                (a, b) -> call(Intrinsic.ACOSH, add(call(Intrinsic.ABS, a), f32(1))),
                (a, b) -> call(Intrinsic.ATANH, unit),
                (a, b) -> call(Intrinsic.ATAN2, a, b),
                (a, b) -> select(new Expr.Call(Type.BOOL, Intrinsic.IS_NAN, List.of(a)), f32(7), a),
                (a, b) -> select(new Expr.Call(Type.BOOL, Intrinsic.IS_INF, List.of(a)), f32(9), a),
                (a, b) -> min(a, b), // a NaN in the first operand propagates
                (a, b) -> max(a, f32(0)),
                (a, b) -> div(a, b),
                (a, b) -> mod(a, b),
                (a, b) -> add(mul(a, b), a)); // no fused multiply-add
        Buffer y = new Buffer("Y", F32, (long) n * fns.size());
        List<Stmt> stores = new ArrayList<>();
        for (int k = 0; k < fns.size(); k++) stores.add(store(y, add(idx((long) k * n), i), fns.get(k).apply(xi, wi)));
        Stmt body = loop(bx, n / 64, ForKind.GPU_BLOCK_X, loop(tx, 64, ForKind.GPU_THREAD_X,
                new Stmt.LetStmt(i, add(mul(bx, idx(64)), tx), new Stmt.Seq(stores))));
        PrimFunc f = new PrimFunc("elementwise_math", List.of(x, w, y), body);
        float[] ws = inputs(n, 2);
        Arrays.fill(ws, 0, 16, 1.25f);
        String src = checkAgainstInterpreter(f, List.of(inputs(n, 1), ws, new float[n * fns.size()]));
        assertTrue(src.contains("erf(") && src.contains("get_group_id(0)") && src.contains("get_local_id(0)"), src);
    }

    @Test
    void integerDivisionAndModuloFloorLikeTheInterpreter() {
        int n = 64;
        Buffer a = new Buffer("A", I32, n), b = new Buffer("B", I32, n);
        Buffer q = new Buffer("Q", I32, 9L * n), q64 = new Buffer("Q64", I64, 4L * n), q8 = new Buffer("Q8", I8, 4L * n),
                qu = new Buffer("QU", U32, 2L * n);
        Expr.Var i = var("i");
        Expr ai = load(a, i), bi = load(b, i);
        Expr a64 = cast(I64, ai), b64 = cast(I64, bi), a8 = cast(I8, ai), au = cast(U32, ai);
        List<Expr> q32 = List.of(div(ai, bi), mod(ai, bi), div(ai, i32(4)), mod(ai, i32(4)), div(ai, i32(3)), mod(ai, i32(3)),
                div(ai, i32(-3)), mod(ai, i32(-3)), cast(I32, add(div(sub(i, idx(8)), idx(3)), mod(sub(i, idx(8)), idx(3)))));
        List<Expr> q64s = List.of(div(a64, b64), mod(a64, b64), div(i, idx(3)), mod(i, idx(5)));
        List<Expr> q8s = List.of(add(a8, intImm(I8, 100)), mul(a8, intImm(I8, 3)), div(a8, cast(I8, bi)), mod(a8, cast(I8, bi)));
        List<Expr> qus = List.of(div(au, intImm(U32, 7)), mod(au, cast(U32, add(call(Intrinsic.ABS, bi), i32(1)))));
        List<Stmt> stores = new ArrayList<>();
        for (int k = 0; k < q32.size(); k++) stores.add(store(q, add(idx((long) k * n), i), q32.get(k)));
        for (int k = 0; k < q64s.size(); k++) stores.add(store(q64, add(idx((long) k * n), i), q64s.get(k)));
        for (int k = 0; k < q8s.size(); k++) stores.add(store(q8, add(idx((long) k * n), i), q8s.get(k)));
        for (int k = 0; k < qus.size(); k++) stores.add(store(qu, add(idx((long) k * n), i), qus.get(k)));
        PrimFunc f = new PrimFunc("int_div_mod", List.of(a, b, q, q64, q8, qu), loop(i, n, ForKind.SERIAL, new Stmt.Seq(stores)));
        long[] as = new long[n], bs = new long[n];
        Random r = new Random(3);
        for (int k = 0; k < n; k++) {
            as[k] = r.nextInt(401) - 200;
            do bs[k] = r.nextInt(21) - 10; while (bs[k] == 0);
        }
        as[0] = Integer.MIN_VALUE;
        bs[0] = 7;
        String src = checkAgainstInterpreter(f, List.of(as, bs, new long[9 * n], new long[4 * n], new long[4 * n], new long[2 * n]));
        assertTrue(src.contains("kiln_floordiv_int(") && src.contains("A[i] >> 2") && src.contains("i / 3"), src);
    }

    /** C[M,N] = sum_k A[M,K] * B[K,N], lowered from a tensor expression: a serial reduction loop. */
    static PrimFunc matmul(long m, long n, long k) {
        Placeholder a = Te.placeholder("A", F32, m, k);
        Placeholder b = Te.placeholder("B", F32, k, n);
        Expr.Var kk = Te.reduceAxis("k");
        Compute c = Te.compute("C", F32, Te.box(m, n),
                i -> Te.sum(mul(Te.read(a, i.get(0), kk), Te.read(b, kk, i.get(1))), List.of(kk), List.of(k)));
        return LowerTe.lower("matmul", List.of(a, b), List.of(c));
    }

    /** Row softmax: a max and a sum reduction and an exp. */
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

    @Test
    void reductions() {
        PrimFunc mm = matmul(8, 12, 16);
        Random r = new Random(4);
        List<Object> args = new ArrayList<>();
        for (var p : mm.params()) {
            float[] v = new float[(int) p.size()];
            for (int k = 0; k < v.length; k++) v[k] = r.nextInt(9) - 4;
            args.add(v);
        }
        checkAgainstInterpreter(mm, args);
        PrimFunc sm = softmax(4, 33);
        List<Object> sargs = new ArrayList<>();
        for (var p : sm.params()) sargs.add(inputs((int) p.size(), 5));
        ((float[]) sargs.get(0))[12] = 1; // no NaN: one NaN would make its whole row NaN
        ((float[]) sargs.get(0))[13] = 2;
        ((float[]) sargs.get(0))[14] = 3;
        checkAgainstInterpreter(sm, sargs);
    }

    @Test
    void vectorLoadsStoresGathersAndScatters() {
        int n = 64;
        Buffer x = new Buffer("X", F32, n), w = new Buffer("W", F32, n / 4);
        Buffer y = new Buffer("Y", F32, n), z = new Buffer("Z", F32, n), s = new Buffer("S", F32, n), q = new Buffer("Q", I32, n),
                m = new Buffer("M", BOOL, n), fm = new Buffer("FM", F32, n), y8 = new Buffer("Y8", F32, n);
        Expr.Var i = var("i"), j = var("j");
        Expr base = mul(i, idx(4));
        Expr dense = new Expr.Ramp(base, idx(1), 4);
        Expr xv = load(x, dense);
        Stmt body4 = seq(
                store(y, dense, select(cmp(CmpOp.GT, xv, new Expr.Broadcast(f32(0), 4)), mul(xv, new Expr.Broadcast(f32(2), 4)),
                        mul(new Expr.Broadcast(f32(0.5), 4), xv))),
                store(z, dense, add(min(xv, new Expr.Broadcast(load(w, i), 4)), load(x, new Expr.Ramp(mul(i, idx(2)), idx(2), 4)))),
                store(q, dense, div(cast(I32, mul(xv, new Expr.Broadcast(f32(10), 4))), new Expr.Broadcast(i32(3), 4))),
                store(s, new Expr.Ramp(i, idx(16), 4), xv),
                store(m, dense, cmp(CmpOp.LT, xv, new Expr.Broadcast(f32(0), 4))),
                store(fm, dense, cast(F32, load(m, dense))));
        Expr dense8 = new Expr.Ramp(mul(j, idx(8)), idx(1), 8);
        Stmt body8 = store(y8, dense8, call(Intrinsic.EXP, load(x, dense8)));
        PrimFunc f = new PrimFunc("vectors", List.of(x, w, y, z, s, q, m, fm, y8),
                seq(loop(i, n / 4, ForKind.SERIAL, body4), loop(j, n / 8, ForKind.SERIAL, body8)));
        float[] xs = inputs(n, 6);
        xs[12] = 3; // no NaN, inf: the int cast of those is undefined
        xs[13] = -4;
        xs[14] = 5;
        float[] ws = inputs(n / 4, 7);
        ws[12] = 1; // min(x, NaN): the interpreter gives NaN, the CPU backend (and this printer) x
        String src = checkAgainstInterpreter(f, List.of(xs, ws, new float[n], new float[n], new float[n], new long[n],
                new long[n], new float[n], new float[n]));
        assertTrue(src.contains("vload4(0, X + i * 4)") && src.contains("vstore4(") && src.contains("vload8(")
                && src.contains("(float4)(X[") && src.contains("select("), src);
    }

    @Test
    void vectorizeLoopsOutputRuns() {
        int n = 8, m = 16;
        Buffer x = new Buffer("X", F32, n * m), y = new Buffer("Y", F32, n * m);
        Expr.Var j = var("j"), i = var("i");
        Expr at = add(mul(j, idx(m)), i);
        PrimFunc f = VectorizeLoops.run(new PrimFunc("vectorized", List.of(x, y), loop(j, n, ForKind.PARALLEL,
                loop(i, m, ForKind.VECTORIZED, store(y, at, add(mul(call(Intrinsic.EXP, load(x, at)), f32(2)), f32(1)))))));
        String src = checkAgainstInterpreter(f, List.of(inputs(n * m, 8), new float[n * m]));
        assertTrue(src.contains("vload16(") && src.contains("vstore16("), src);
    }

    /**
     * A thread's register tile of 2 x 8 accumulators, each row summed over 16 steps as one float8
     * vector: declared as a float8 array. With {@code scalarRead}, one extra scalar read of the
     * tile keeps it a float array; both agree with the interpreter.
     */
    static PrimFunc registerTile(boolean scalarRead) {
        int threads = 4, k = 16;
        Buffer x = new Buffer("X", F32, threads * k * 8), y = new Buffer("Y", F32, threads * 16 + threads);
        Buffer acc = new Buffer("acc", F32, 16, MemoryScope.REGISTER);
        Expr.Var t = var("t"), r = var("r"), c = var("c"), rz = var("r.zero"), cz = var("c.zero"), kk = var("k");
        Expr.Var ro = var("r.out"), co = var("c.out");
        Stmt zero = loop(rz, 2, ForKind.UNROLLED, loop(cz, 8, ForKind.VECTORIZED, store(acc, add(mul(rz, idx(8)), cz), f32(0))));
        Expr at = add(mul(r, idx(8)), c);
        Stmt update = loop(kk, k, ForKind.SERIAL, loop(r, 2, ForKind.UNROLLED, loop(c, 8, ForKind.VECTORIZED,
                store(acc, at, add(load(acc, at), mul(load(x, add(add(mul(t, idx(k * 8L)), mul(kk, idx(8))), c)), new Expr.Cast(Type.of(F32), add(r, idx(1)))))))));
        Expr out = add(mul(ro, idx(8)), co);
        Stmt copyOut = loop(ro, 2, ForKind.UNROLLED, loop(co, 8, ForKind.VECTORIZED, store(y, add(mul(t, idx(16)), out), load(acc, out))));
        List<Stmt> body = new ArrayList<>(List.of(zero, update, copyOut));
        if (scalarRead) body.add(store(y, add(idx(threads * 16L), t), load(acc, idx(5))));
        Stmt kernel = loop(t, threads, ForKind.GPU_THREAD_X, new Stmt.Allocate(acc, new Stmt.Seq(body)));
        return VectorizeLoops.run(new PrimFunc("register_tile", List.of(x, y), kernel));
    }

    @Test
    void registerTilesOfWholeVectorsAreVectorArrays() {
        int n = 4 * 16 * 8, m = 4 * 16 + 4;
        String vectors = checkAgainstInterpreter(registerTile(false), List.of(inputs(n, 11), new float[m]));
        assertTrue(vectors.contains("float8 acc[2];") && vectors.contains("acc[r] = acc[r] + "), vectors);
        String scalars = checkAgainstInterpreter(registerTile(true), List.of(inputs(n, 11), new float[m]));
        assertTrue(scalars.contains("float acc[16];") && scalars.contains("vload8(0, acc + "), scalars);
    }

    /** Each block stages its elements in __local memory, waits at a barrier, and writes them reversed and doubled. */
    static PrimFunc blockReverse(long blocks, long threads) {
        Buffer a = new Buffer("A", F32, blocks * threads), b = new Buffer("B", F32, blocks * threads);
        Buffer tile = new Buffer("tile", F32, threads, MemoryScope.SHARED), r = new Buffer("r", F32, 1, MemoryScope.REGISTER);
        Expr.Var bx = var("bx"), load = var("tx.load"), store = var("tx.store");
        Stmt stage = new Stmt.For(load, idx(0), idx(threads), ForKind.GPU_THREAD_X,
                new Stmt.Store(tile, load, new Expr.Load(a, add(mul(bx, idx(threads)), load))));
        Stmt write = new Stmt.For(store, idx(0), idx(threads), ForKind.GPU_THREAD_X, new Stmt.Allocate(r, new Stmt.Seq(List.of(
                new Stmt.Store(r, idx(0), new Expr.Load(tile, sub(idx(threads - 1), store))),
                new Stmt.Store(b, add(mul(bx, idx(threads)), store), mul(new Expr.Load(r, idx(0)), f32(2)))))));
        Stmt body = new Stmt.For(bx, idx(0), idx(blocks), ForKind.GPU_BLOCK_X,
                new Stmt.Allocate(tile, new Stmt.Seq(List.of(stage, new Stmt.Barrier(MemoryScope.SHARED), write))));
        return new PrimFunc("block_reverse", List.of(a, b), body);
    }

    @Test
    void sharedMemoryAndBarriersOnWorkGroups() {
        PrimFunc f = blockReverse(4, 64);
        String src = checkAgainstInterpreter(f, List.of(inputs(256, 9), new float[256]));
        assertTrue(src.contains("__local float tile[64];") && src.contains("barrier(CLK_LOCAL_MEM_FENCE);"), src);
    }

    @Test
    void casts() {
        int n = 64;
        Buffer x = new Buffer("X", F32, n), k = new Buffer("K", I64, n);
        Buffer toI32 = new Buffer("to_i32", I32, n), toI8 = new Buffer("to_i8", I8, n), toU8 = new Buffer("to_u8", U8, n),
                toBool = new Buffer("to_bool", BOOL, n), viaF64 = new Buffer("via_f64", F32, n), narrow = new Buffer("narrow", I8, n),
                fromBool = new Buffer("from_bool", F32, n), fromU32 = new Buffer("from_u32", F32, n), d = new Buffer("D", F64, n);
        Expr.Var i = var("i");
        Expr xi = load(x, i), ki = load(k, i);
        Stmt body = seq(
                store(toI32, i, cast(I32, xi)),
                store(toI8, i, cast(I8, mul(xi, f32(100)))),
                store(toU8, i, cast(U8, cast(I32, xi))),
                store(toBool, i, cast(BOOL, xi)),
                store(d, i, mul(cast(F64, xi), new Expr.FloatImm(Type.F64, 1.1))),
                store(viaF64, i, cast(F32, load(d, i))),
                store(narrow, i, cast(I8, ki)),
                store(fromBool, i, add(cast(F32, load(toBool, i)), cast(F32, cmp(CmpOp.GE, ki, idx(0))))),
                store(fromU32, i, cast(F32, cast(U32, ki))));
        PrimFunc f = new PrimFunc("casts", List.of(x, k, toI32, toI8, toU8, toBool, viaF64, narrow, fromBool, fromU32, d),
                loop(i, n, ForKind.SERIAL, body));
        float[] xs = inputs(n, 10);
        xs[12] = 300.7f; // NaN and inf have no integer value: replace them
        xs[13] = -300.7f;
        xs[14] = -0.99f;
        long[] ks = new long[n];
        Random r = new Random(11);
        for (int j = 0; j < n; j++) ks[j] = r.nextLong() >> r.nextInt(64);
        String src = checkAgainstInterpreter(f, List.of(xs, ks, new long[n], new long[n], new long[n], new long[n], new float[n],
                new long[n], new float[n], new float[n], new double[n]));
        assertTrue(src.contains("#pragma OPENCL EXTENSION cl_khr_fp64 : enable"), src);
    }
}
