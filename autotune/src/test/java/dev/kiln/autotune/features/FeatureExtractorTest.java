package dev.kiln.autotune.features;

import static dev.kiln.irlow.ScalarType.F32;
import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.lower.LowerTe;
import dev.kiln.irlow.lower.LoweringPipeline;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import dev.kiln.schedules.Schedule;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knob;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class FeatureExtractorTest {
    static PrimFunc matmul(long m, long n, long k) {
        Placeholder a = Te.placeholder("A", F32, m, k);
        Placeholder b = Te.placeholder("B", F32, k, n);
        Expr.Var kk = Te.reduceAxis("k");
        Compute c = Te.compute("C", F32, Te.box(m, n),
                i -> Te.sum(mul(Te.read(a, i.get(0), kk), Te.read(b, kk, i.get(1))), List.of(kk), List.of(k)));
        return LowerTe.lower("matmul", List.of(a, b), List.of(c));
    }

    /** The (i, j.o, k, j.i) schedule of a 16x32x8 matmul, j.i of width 8 vectorized or not. */
    static PrimFunc tiled(boolean vectorize) {
        Schedule s = new Schedule(matmul(16, 32, 8));
        s.split("C.i1", 8);
        s.reorder("C.i0", "C.i1.o", "k", "C.i1.i");
        if (vectorize) s.vectorize("C.i1.i");
        return LoweringPipeline.run(s.func(), (name, f) -> {});
    }

    static double feature(double[] x, String name) {
        int i = FeatureExtractor.featureNames().indexOf(name);
        assertTrue(i >= 0, "no feature " + name);
        return x[i];
    }

    static double log2p(double x) {
        return Math.log(1 + x) / Math.log(2);
    }

    @Test
    void namesMatchLengthAndAreUnique() {
        assertEquals(FeatureExtractor.length(), FeatureExtractor.featureNames().size());
        assertEquals(FeatureExtractor.length(), new HashSet<>(FeatureExtractor.featureNames()).size());
        assertEquals(FeatureExtractor.length(), FeatureExtractor.features(tiled(true)).length);
    }

    @Test
    void deterministicAcrossRebuilds() {
        assertArrayEquals(FeatureExtractor.features(tiled(false)), FeatureExtractor.features(tiled(false)));
        assertArrayEquals(FeatureExtractor.features(tiled(true)), FeatureExtractor.features(tiled(true)));
    }

    @Test
    void plainMatmulCountsAndStridesByHand() {
        double[] x = FeatureExtractor.features(LoweringPipeline.run(matmul(4, 16, 8), (n, f) -> {}));
        // Main nest (C.i0, C.i1, k): k innermost with extent 8, at depth 3.
        assertEquals(3, feature(x, "loop0.log2_extent"), 1e-12);
        assertEquals(1, feature(x, "loop0.serial"));
        assertEquals(3, feature(x, "loop0.depth"));
        assertEquals(4, feature(x, "loop1.log2_extent"), 1e-12);
        assertEquals(2, feature(x, "loop2.log2_extent"), 1e-12);
        assertEquals(0, feature(x, "loop3.depth"), "padding");
        assertEquals(log2p(4 * 16 * 8), feature(x, "log2_float_fma"), 1e-9);
        assertEquals(log2p(4 * 16 * 8), feature(x, "log2_main_iterations"), 1e-9);
        assertEquals(0, feature(x, "vector_float_share"));
        assertEquals(0, feature(x, "nonconst_extents"));
        // Buffers by touched bytes: B (8x16 = 512 bytes, all of it), A (4x8 = 128 bytes), C (4x16 = 256 bytes): B, C, A.
        assertEquals(log2p(512), feature(x, "buf0.log2_touched_bytes"), 1e-9);
        assertEquals(log2p(16), feature(x, "buf0.log2_inner_stride"), 1e-9, "B steps a row along k");
        assertEquals(log2p(256), feature(x, "buf1.log2_touched_bytes"), 1e-9);
        assertEquals(log2p(0), feature(x, "buf1.log2_inner_stride"), 1e-9, "C[i, j] is invariant in k");
        assertEquals(log2p(128), feature(x, "buf2.log2_touched_bytes"), 1e-9);
        assertEquals(log2p(1), feature(x, "buf2.log2_inner_stride"), 1e-9);
        // Each element of B is read by each of the 4 rows.
        assertEquals(log2p(4), feature(x, "buf0.log2_reuse"), 1e-9);
    }

    @Test
    void vectorizedScheduleDiffersFromScalarOne() {
        double[] scalar = FeatureExtractor.features(tiled(false)), vector = FeatureExtractor.features(tiled(true));
        assertFalse(Arrays.equals(scalar, vector));
        assertEquals(0, feature(scalar, "log2_max_lanes"));
        assertEquals(3, feature(vector, "log2_max_lanes"), 1e-12);
        assertEquals(0, feature(scalar, "vector_float_share"));
        assertEquals(1, feature(vector, "vector_float_share"), 1e-12);
        // The same arithmetic either way, counted per element.
        assertEquals(feature(scalar, "log2_float_fma"), feature(vector, "log2_float_fma"), 1e-9);
        // Scalar: j.i (extent 8) is the innermost loop; vectorized, the loop became lanes and k is innermost.
        assertEquals(3, feature(scalar, "loop0.log2_extent"), 1e-12);
        assertEquals(3, feature(vector, "loop0.log2_extent"), 1e-12);
        assertEquals(4, feature(scalar, "loop0.depth"));
        assertEquals(3, feature(vector, "loop0.depth"));
    }

    @Test
    void knobFeaturesAppendLogsAndIndices() {
        ConfigSpace space = new ConfigSpace(List.of(Knob.of("tile", List.of(1L, 4L, 16L), 4),
                Knob.categorical("order", List.of("ijk", "ikj"), 0)));
        Config c = space.get(5); // tile=16, order=ikj
        double[] x = FeatureExtractor.features(tiled(true), space, c);
        assertEquals(FeatureExtractor.length(space), x.length);
        assertEquals(FeatureExtractor.featureNames(space).size(), x.length);
        assertEquals("knob.tile", FeatureExtractor.featureNames(space).get(FeatureExtractor.length()));
        assertEquals(log2p(16), x[FeatureExtractor.length()], 1e-12);
        assertEquals(1, x[FeatureExtractor.length() + 1]);
    }

    @Test
    void oddIrGivesFiniteFeaturesAndFlagsUnknownExtents() {
        Buffer a = new Buffer("a", F32, 64), n = new Buffer("n", dev.kiln.irlow.ScalarType.I64, 1), t = new Buffer("t", F32, 8);
        Expr.Var i = new Expr.Var("i", Type.INDEX), j = new Expr.Var("j", Type.INDEX), x = new Expr.Var("x", Type.INDEX);
        Expr extent = new Expr.Load(n, idx(0)); // known only at run time
        Stmt body = new Stmt.Allocate(t, new Stmt.For(i, idx(0), extent, ForKind.PARALLEL,
                new Stmt.LetStmt(x, mul(i, idx(2)), new Stmt.For(j, idx(0), idx(4), ForKind.UNROLLED,
                        new Stmt.IfThenElse(lt(add(x, j), idx(64)),
                                new Stmt.Store(a, add(x, j), add(new Expr.Load(a, add(x, j)), f32(1))),
                                new Stmt.Store(t, idx(0), f32(0)))))));
        double[] f = FeatureExtractor.features(new PrimFunc("odd", List.of(a, n), body));
        assertEquals(FeatureExtractor.length(), f.length);
        for (double v : f) assertTrue(Double.isFinite(v));
        assertEquals(1, feature(f, "nonconst_extents"));
        assertEquals(1, feature(f, "loop1.parallel"));
        assertEquals(1, feature(f, "loop0.unrolled"));
        assertEquals(log2p(32), feature(f, "log2_allocated_bytes"), 1e-12);
        // Through the let, a[2i + j] moves by 1 along j.
        assertEquals(log2p(1), feature(f, "buf0.log2_inner_stride"), 1e-12);
        double[] empty = FeatureExtractor.features(new PrimFunc("empty", List.of(), new Stmt.Seq(List.of())));
        assertEquals(FeatureExtractor.length(), empty.length);
    }
}
