package dev.kiln.codegen.llvm;

import static dev.kiln.codegen.llvm.KernelCodegenTest.*;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every cast between the twelve scalar types, scalar and 8-lane, against Java: integers wrap to
 * the target width (sign- or zero-extended by the source's signedness), floats truncate toward
 * zero, ints round to nearest, anything to bool is != 0. Float-to-int values outside the target's
 * range are undefined and not checked.
 */
class CastTest {
    static final int N = 24;
    static final long[] INTS = {0, 1, 2, 100, 127, -1, -5, -128, 200, 255, 1000, 65535, -30000, 70000, 0x7fffffffL,
            -0x80000000L, (1L << 40) + 3, -(1L << 40), 0xffffffffL, 3, 4, 5, 6, 7};
    static final double[] FLOATS = {0, 1, 2.5, -2.5, 100.7, -100.7, 127.9, 0.25, -0.75, 1e3, 3e4, -3e4, 6e4, 255.5,
            -1.5, 65535.0, 4e9, -4e9, 1e12, 0.5, -0.5, 7.99, 1 + 0x1p-11 + 0x1p-40, -128.9};

    @ParameterizedTest
    @EnumSource(ScalarType.class)
    void castsFrom(ScalarType from) {
        Buffer in = new Buffer("in", from, N);
        List<Buffer> params = new ArrayList<>(List.of(in));
        List<Stmt> scalar = new ArrayList<>(), vector = new ArrayList<>();
        Expr.Var i = var("i"), io = var("io");
        Expr vi = new Expr.Ramp(mul(io, idx(8)), idx(1), 8);
        Expr vo = new Expr.Ramp(add(mul(io, idx(8)), idx(N)), idx(1), 8);
        for (ScalarType to : ScalarType.values()) {
            Buffer out = new Buffer("to_" + to, to, 2 * N);
            params.add(out);
            scalar.add(new Stmt.Store(out, i, new Expr.Cast(Type.of(to), new Expr.Load(in, i))));
            vector.add(new Stmt.Store(out, vo, new Expr.Cast(new Type(to, 8), new Expr.Load(in, vi))));
        }
        Stmt body = seq(loop(i, N, ForKind.SERIAL, new Stmt.Seq(scalar)), loop(io, N / 8, ForKind.SERIAL, new Stmt.Seq(vector)));
        try (Jit jit = Jit.compile(TARGET, new PrimFunc("cast_" + from, params, body)); Arena arena = Arena.ofConfined()) {
            MemorySegment src = Mem.alloc(arena, from, N);
            for (int k = 0; k < N; k++) {
                if (from == ScalarType.BOOL) Mem.setLong(src, from, k, k % 2);
                else if (from.isFloat) Mem.setDouble(src, from, k, FLOATS[k]);
                else Mem.setLong(src, from, k, INTS[k]);
            }
            MemorySegment[] args = new MemorySegment[params.size()];
            args[0] = src;
            for (int k = 1; k < args.length; k++) args[k] = Mem.alloc(arena, params.get(k).dtype(), 2 * N);
            jit.call("cast_" + from, 1, args);
            for (int t = 0; t < ScalarType.values().length; t++) {
                ScalarType to = ScalarType.values()[t];
                for (int e = 0; e < 2 * N; e++) {
                    int k = e % N;
                    String where = from + " -> " + to + (e >= N ? " (vector)" : "") + " of element " + k;
                    check(from, to, src, k, args[t + 1], e, where);
                }
            }
        }
    }

    private static void check(ScalarType from, ScalarType to, MemorySegment src, int k, MemorySegment out, int e, String where) {
        if (from.isFloat) {
            double v = Mem.getDouble(src, from, k);
            if (to == ScalarType.BOOL) assertEquals(v != 0 ? 1 : 0, Mem.getLong(out, to, e), where);
            else if (to.isFloat) assertEquals(roundTo(to, v), Mem.getDouble(out, to, e), where + " of " + v);
            else if (Double.isFinite(v)) {
                double tr = v < 0 ? Math.ceil(v) : Math.floor(v);
                BigInteger want = BigDecimal.valueOf(tr).toBigInteger();
                if (inRange(want, to)) assertEquals(want.longValue(), Mem.getLong(out, to, e), where + " of " + v);
            }
            return;
        }
        long v = Mem.getLong(src, from, k);
        BigInteger exact = from == ScalarType.U64 ? new BigInteger(Long.toUnsignedString(v)) : BigInteger.valueOf(v);
        if (to == ScalarType.BOOL) assertEquals(v != 0 ? 1 : 0, Mem.getLong(out, to, e), where);
        else if (to.isFloat) {
            double want = switch (to) {
                case F64 -> new BigDecimal(exact).doubleValue();
                case F32 -> new BigDecimal(exact).floatValue();
                case BF16 -> toBfloat16(new BigDecimal(exact).floatValue());
                default -> Float.float16ToFloat(Float.floatToFloat16(new BigDecimal(exact).floatValue()));
            };
            assertEquals(want, Mem.getDouble(out, to, e), where + " of " + exact);
        } else {
            assertEquals(wrap(exact.longValue(), to), Mem.getLong(out, to, e), where + " of " + exact);
        }
    }

    /** The value x has after truncation to t's width, read back with t's signedness. */
    static long wrap(long x, ScalarType t) {
        int bits = t.bits;
        if (bits == 64) return x;
        long low = x & ((1L << bits) - 1);
        return t.isSigned && (low >>> (bits - 1)) != 0 ? low - (1L << bits) : low;
    }

    static boolean inRange(BigInteger v, ScalarType t) {
        BigInteger lo = t.isSigned ? BigInteger.ONE.shiftLeft(t.bits - 1).negate() : BigInteger.ZERO;
        BigInteger hi = t.isSigned ? BigInteger.ONE.shiftLeft(t.bits - 1) : BigInteger.ONE.shiftLeft(t.bits);
        return v.compareTo(lo) >= 0 && v.compareTo(hi) < 0;
    }

    static double roundTo(ScalarType t, double v) {
        return switch (t) {
            case F64 -> v;
            case F32 -> (float) v;
            case BF16 -> toBfloat16((float) v); // through f32, as ONNX Runtime converts
            default -> toHalf(v);
        };
    }

    /** f rounded to bfloat16, to nearest even; a NaN stays NaN. */
    static float toBfloat16(float f) {
        if (Float.isNaN(f)) return f;
        int bits = Float.floatToRawIntBits(f);
        return Float.intBitsToFloat(((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16) << 16);
    }

    /** v correctly rounded to f16 (going through float would round twice: 1 + 2^-11 + 2^-40 must round up). */
    static double toHalf(double v) {
        short h = Float.floatToFloat16((float) v);
        if (!Double.isFinite(v) || Math.abs(v) >= 65520 || Float.isInfinite(Float.float16ToFloat(h))) {
            return Float.float16ToFloat(h);
        }
        double best = Float.float16ToFloat(h);
        for (int d = -1; d <= 1; d += 2) {
            short c = (short) (h + d);
            double cv = Float.float16ToFloat(c);
            double err = Math.abs(cv - v), bestErr = Math.abs(best - v);
            if (err < bestErr || (err == bestErr && (c & 1) == 0)) best = cv;
        }
        return best;
    }
}
