package dev.kiln.codegen.llvm;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.interp.Interpreter;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The bf16 intrinsics: {@link Intrinsic#DOT2_BF16} is one {@code vdpbf16ps} on targets with AVX-512
 * BF16 and widened code elsewhere, and equals its definition lane by lane either way (1, 4, 8 and 16
 * lanes) on normal numbers; {@link Intrinsic#PAIR_BF16} packs the casts' rounding (nearest even,
 * NaN quiet) two to a word, natively as in the interpreter.
 */
class Bf16CodegenTest {
    private static final int N = 64;
    private static final int[] LANES = {1, 4, 8, 16};

    /** out_L[i] = dot2_bf16(acc[i], a[i], b[i]) computed L lanes at a time, for each L of {@link #LANES}. */
    private static PrimFunc dot2() {
        Buffer acc = new Buffer("acc", ScalarType.F32, N), a = new Buffer("a", ScalarType.I32, N), b = new Buffer("b", ScalarType.I32, N);
        List<Buffer> params = new ArrayList<>(List.of(acc, a, b));
        List<Stmt> loops = new ArrayList<>();
        for (int lanes : LANES) {
            Buffer out = new Buffer("out" + lanes, ScalarType.F32, N);
            params.add(out);
            Expr.Var i = var("i" + lanes);
            Expr at = lanes == 1 ? i : new Expr.Ramp(mul(i, idx(lanes)), idx(1), lanes);
            loops.add(new Stmt.For(i, idx(0), idx(N / lanes), ForKind.SERIAL, new Stmt.Store(out, at,
                    call(Intrinsic.DOT2_BF16, new Expr.Load(acc, at), new Expr.Load(a, at), new Expr.Load(b, at)))));
        }
        return new PrimFunc("dot2", params, new Stmt.Seq(loops));
    }

    /** words[i] = pair_bf16(bf16(x[2i .. 2i+1])) 16 words at a time, and odd[i] = pair_bf16(bf16(x[i])) one float at a time. */
    private static PrimFunc pair() {
        Buffer x = new Buffer("x", ScalarType.F32, 2 * N), words = new Buffer("words", ScalarType.I32, N), odd = new Buffer("odd", ScalarType.I32, 2 * N);
        Expr.Var v = var("v"), i = var("i");
        Expr floats = cast(ScalarType.BF16, new Expr.Load(x, new Expr.Ramp(mul(v, idx(32)), idx(1), 32)));
        Stmt vec = new Stmt.For(v, idx(0), idx(N / 16), ForKind.SERIAL, new Stmt.Store(words, new Expr.Ramp(mul(v, idx(16)), idx(1), 16),
                new Expr.Call(Type.I32.withLanes(16), Intrinsic.PAIR_BF16, List.of(floats))));
        Stmt one = new Stmt.For(i, idx(0), idx(2 * N), ForKind.SERIAL, new Stmt.Store(odd, i,
                new Expr.Call(Type.I32, Intrinsic.PAIR_BF16, List.of(cast(ScalarType.BF16, new Expr.Load(x, i))))));
        return new PrimFunc("pair", List.of(x, words, odd), new Stmt.Seq(List.of(vec, one)));
    }

    /** Pairs (a0, a1) = (1, 1) and (b0, b1) = (-1, 1): with an accumulator of 2^24 the result tells which pair was added first. */
    private static final int ORDER_A = Intrinsic.bf16Bits(1f) | Intrinsic.bf16Bits(1f) << 16, ORDER_B = Intrinsic.bf16Bits(-1f) | Intrinsic.bf16Bits(1f) << 16;

    private static CpuTarget bf16Target() {
        return CpuTarget.avx512Vnni().withFeature(CpuTarget.BF16_FEATURE);
    }

    /** Random bf16 pairs of normal numbers in about [-4, 4] and accumulators in about [-64, 64]. */
    private static int randomPair(Random r) {
        return Intrinsic.bf16Bits((float) r.nextGaussian()) | Intrinsic.bf16Bits((float) r.nextGaussian()) << 16;
    }

    @Test
    void dot2EqualsItsDefinitionOnEveryTargetThatRunsHere() {
        Random r = new Random(13);
        double[] acc = new double[N];
        long[] a = new long[N], b = new long[N];
        for (int i = 0; i < N; i++) {
            acc[i] = (float) (16 * r.nextGaussian());
            a[i] = randomPair(r);
            b[i] = randomPair(r);
        }
        // Cancellation, where the order of the two additions shows: acc = -(a1 b1), then + a0 b0.
        a[0] = Intrinsic.bf16Bits(1.5f) | Intrinsic.bf16Bits(3f) << 16;
        b[0] = Intrinsic.bf16Bits(0.0078125f) | Intrinsic.bf16Bits(1.25f) << 16;
        acc[0] = -3.75;
        acc[1] = 0x1p24;
        a[1] = ORDER_A;
        b[1] = ORDER_B;
        // The interpreter, which runs the definition, at every lane count.
        float[] accF = new float[N];
        for (int i = 0; i < N; i++) accF[i] = (float) acc[i];
        List<Object> storage = new ArrayList<>(List.of(accF, a.clone(), b.clone()));
        for (int k = 0; k < LANES.length; k++) storage.add(new float[N]);
        Interpreter.run(dot2(), storage);
        for (int k = 0; k < LANES.length; k++)
            for (int i = 0; i < N; i++)
                assertEquals(Intrinsic.dot2Bf16(accF[i], (int) a[i], (int) b[i]), ((float[]) storage.get(3 + k))[i], "interpreter, " + LANES[k] + " lanes, element " + i);
        int ran = 0;
        for (CpuTarget t : List.of(bf16Target(), CpuTarget.avx512Vnni(), CpuTarget.avx512(), CpuTarget.avx2())) {
            if (!t.canRunOnHost()) continue;
            ran++;
            try (Jit jit = Jit.compile(t, dot2()); Arena arena = Arena.ofConfined()) {
                MemorySegment[] args = new MemorySegment[3 + LANES.length];
                args[0] = Mem.doubles(arena, ScalarType.F32, acc);
                args[1] = Mem.longs(arena, ScalarType.I32, a);
                args[2] = Mem.longs(arena, ScalarType.I32, b);
                for (int k = 3; k < args.length; k++) args[k] = Mem.alloc(arena, ScalarType.F32, N);
                jit.call("dot2", 1, args);
                for (int k = 0; k < LANES.length; k++)
                    for (int i = 0; i < N; i++)
                        assertEquals(Intrinsic.dot2Bf16((float) acc[i], (int) a[i], (int) b[i]), (float) Mem.getDouble(args[3 + k], ScalarType.F32, i),
                                t.name() + (t.hasBf16DotProduct() ? " (vdpbf16ps)" : "") + ", " + LANES[k] + " lanes, element " + i);
            }
        }
        assertTrue(ran > 0 || !CpuTarget.hostArch().equals("x86_64"));
    }

    /** The definition: the products are exact in f32, the high pair is added first, each sum rounded once. */
    @Test
    void dot2DefinitionRoundsEachAdditionOnce() {
        Random r = new Random(17);
        for (int i = 0; i < 10_000; i++) {
            float acc = (float) (16 * r.nextGaussian());
            int a = randomPair(r), b = randomPair(r);
            double a0 = Float.intBitsToFloat(a << 16), a1 = Float.intBitsToFloat(a & 0xffff0000);
            double b0 = Float.intBitsToFloat(b << 16), b1 = Float.intBitsToFloat(b & 0xffff0000);
            float high = (float) (acc + a1 * b1);
            assertEquals((float) (high + a0 * b0), Intrinsic.dot2Bf16(acc, a, b));
        }
        // The order shows at 2^24, where f32's spacing is 2: (2^24 + 1*1) ties to 2^24, then - 1 gives 2^24 - 1;
        // the low pair first would give (2^24 - 1) + 1 = 2^24.
        assertEquals(0x1p24f - 1, Intrinsic.dot2Bf16(0x1p24f, ORDER_A, ORDER_B));
    }

    @Test
    void pairRoundsToNearestEvenNativelyAsInTheInterpreter() {
        double[] x = new double[2 * N];
        Random r = new Random(19);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        // Ties (to even, both ways), just above a tie, NaN (quiet), infinities, signed zero, the largest finite float.
        float[] special = {Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000), Float.intBitsToFloat(0x3f808001),
                Float.NaN, Float.intBitsToFloat(0x7f800001), Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, Float.MAX_VALUE, 1e-40f};
        for (int i = 0; i < special.length; i++) x[i] = special[i];
        long[] expectWords = new long[N], expectOdd = new long[2 * N];
        for (int i = 0; i < N; i++) expectWords[i] = Intrinsic.bf16Bits((float) x[2 * i]) | Intrinsic.bf16Bits((float) x[2 * i + 1]) << 16;
        for (int i = 0; i < 2 * N; i++) expectOdd[i] = Intrinsic.bf16Bits((float) x[i]);
        assertEquals(0x3f80, Intrinsic.bf16Bits(special[0]), "a tie rounds to the even 0x3f80");
        assertEquals(0x3f82, Intrinsic.bf16Bits(special[1]), "a tie rounds to the even 0x3f82");
        assertEquals(0x3f81, Intrinsic.bf16Bits(special[2]));
        assertEquals(0x7fc0, Intrinsic.bf16Bits(special[3]) & 0xffc0, "NaN stays a quiet NaN");
        assertTrue((Intrinsic.bf16Bits(special[4]) & 0x7f) != 0, "a signalling NaN with only low bits set does not become infinity");
        assertEquals(0x7f80, Intrinsic.bf16Bits(Float.MAX_VALUE), "the largest float rounds up to infinity");

        // The interpreter.
        float[] xf = new float[x.length];
        for (int i = 0; i < x.length; i++) xf[i] = (float) x[i];
        long[] words = new long[N], odd = new long[2 * N];
        Interpreter.run(pair(), List.of(xf, words, odd));
        for (int i = 0; i < N; i++) assertEquals((int) expectWords[i], (int) words[i], "interpreter, word " + i);
        for (int i = 0; i < 2 * N; i++) assertEquals(expectOdd[i], odd[i], "interpreter, single " + i);
        // Native code.
        for (CpuTarget t : List.of(bf16Target(), CpuTarget.avx512(), CpuTarget.avx2())) {
            if (!t.canRunOnHost()) continue;
            try (Jit jit = Jit.compile(t, pair()); Arena arena = Arena.ofConfined()) {
                MemorySegment in = Mem.doubles(arena, ScalarType.F32, x), w = Mem.alloc(arena, ScalarType.I32, N), o = Mem.alloc(arena, ScalarType.I32, 2 * N);
                jit.call("pair", 1, in, w, o);
                for (int i = 0; i < N; i++) assertEquals(expectWords[i] & 0xffffffffL, Mem.getLong(w, ScalarType.I32, i) & 0xffffffffL, t.name() + ", word " + i);
                for (int i = 0; i < 2 * N; i++) assertEquals(expectOdd[i], Mem.getLong(o, ScalarType.I32, i), t.name() + ", single " + i);
            }
        }
    }

    /** vdpbf16ps on zmm registers with AVX-512 BF16; none without. */
    @Test
    void bf16TargetsUseVdpbf16ps() {
        assertTrue(assembly(bf16Target()).matches("(?s).*vdpbf16ps\\s+[^\\n]*zmm.*"));
        assertFalse(assembly(CpuTarget.avx512Vnni()).contains("vdpbf16ps"));
        assertFalse(assembly(CpuTarget.avx2()).contains("vdpbf16ps"));
        assertFalse(assembly((CpuTarget) Target.parse("aarch64-neon")).contains("vdpbf16ps"));
    }

    private static String assembly(CpuTarget t) {
        try (LlvmModule m = new LlvmModule("dot2", t)) {
            m.addKernel(dot2());
            m.optimize();
            return m.emitAssembly();
        }
    }
}
