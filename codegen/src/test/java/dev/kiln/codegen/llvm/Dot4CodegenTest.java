package dev.kiln.codegen.llvm;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
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
 * The byte dot product {@link Intrinsic#DOT4_U8S8}: one {@code vpdpbusd} on targets with VNNI, widened
 * everywhere else, and equal to its definition lane by lane either way (scalar, 4, 8 and 16 lanes,
 * on every x86 target this machine runs).
 */
class Dot4CodegenTest {
    private static final int N = 64;
    private static final int[] LANES = {1, 4, 8, 16};

    /** out_L[i] = dot4(acc[i], a[i], b[i]) computed L lanes at a time, for each L of {@link #LANES}. */
    private static PrimFunc kernel() {
        Buffer acc = new Buffer("acc", ScalarType.I32, N), a = new Buffer("a", ScalarType.I32, N), b = new Buffer("b", ScalarType.I32, N);
        List<Buffer> params = new ArrayList<>(List.of(acc, a, b));
        List<Stmt> loops = new ArrayList<>();
        for (int lanes : LANES) {
            Buffer out = new Buffer("out" + lanes, ScalarType.I32, N);
            params.add(out);
            Expr.Var i = var("i" + lanes);
            Expr at = lanes == 1 ? i : new Expr.Ramp(mul(i, idx(lanes)), idx(1), lanes);
            loops.add(new Stmt.For(i, idx(0), idx(N / lanes), ForKind.SERIAL, new Stmt.Store(out, at,
                    call(Intrinsic.DOT4_U8S8, new Expr.Load(acc, at), new Expr.Load(a, at), new Expr.Load(b, at)))));
        }
        return new PrimFunc("dot4", params, new Stmt.Seq(loops));
    }

    @Test
    void equalsItsDefinitionOnEveryTargetThatRunsHere() {
        Random r = new Random(11);
        long[] acc = new long[N], a = new long[N], b = new long[N];
        for (int i = 0; i < N; i++) {
            acc[i] = r.nextInt();
            a[i] = r.nextInt();
            b[i] = r.nextInt();
        }
        // The extremes: 255 * -128 in every byte, and the accumulator at the edge of wrapping.
        a[0] = -1;
        b[0] = 0x80808080;
        acc[0] = Integer.MIN_VALUE;
        a[1] = -1;
        b[1] = 0x7f7f7f7f;
        acc[1] = Integer.MAX_VALUE;
        int ran = 0;
        for (CpuTarget t : List.of(CpuTarget.avx512Vnni(), CpuTarget.avx2Vnni(), CpuTarget.avx512(), CpuTarget.avx2())) {
            if (!t.canRunOnHost()) continue;
            ran++;
            try (Jit jit = Jit.compile(t, kernel()); Arena arena = Arena.ofConfined()) {
                MemorySegment[] args = new MemorySegment[3 + LANES.length];
                args[0] = Mem.longs(arena, ScalarType.I32, acc);
                args[1] = Mem.longs(arena, ScalarType.I32, a);
                args[2] = Mem.longs(arena, ScalarType.I32, b);
                for (int k = 3; k < args.length; k++) args[k] = Mem.alloc(arena, ScalarType.I32, N);
                jit.call("dot4", 1, args);
                for (int k = 0; k < LANES.length; k++)
                    for (int i = 0; i < N; i++)
                        assertEquals(Intrinsic.dot4((int) acc[i], (int) a[i], (int) b[i]), Mem.getLong(args[3 + k], ScalarType.I32, i),
                                t.name() + ", " + LANES[k] + " lanes, element " + i);
            }
        }
        assertTrue(ran > 0 || !CpuTarget.hostArch().equals("x86_64"));
    }

    /** vpdpbusd on zmm registers with AVX-512 VNNI, on ymm with AVX-VNNI, none without VNNI. */
    @Test
    void vnniTargetsUseVpdpbusd() {
        assertTrue(assembly(CpuTarget.avx512Vnni()).matches("(?s).*vpdpbusd\\s+[^\\n]*zmm.*"));
        assertTrue(assembly(CpuTarget.avx2Vnni()).matches("(?s).*vpdpbusd\\s+[^\\n]*ymm.*"));
        assertFalse(assembly(CpuTarget.avx512()).contains("vpdpbusd"));
        assertFalse(assembly(CpuTarget.avx2()).contains("vpdpbusd"));
        assertFalse(assembly((CpuTarget) Target.parse("aarch64-neon")).contains("vpdpbusd"));
    }

    private static String assembly(CpuTarget t) {
        try (LlvmModule m = new LlvmModule("dot4", t)) {
            m.addKernel(kernel());
            m.optimize();
            return m.emitAssembly();
        }
    }
}
