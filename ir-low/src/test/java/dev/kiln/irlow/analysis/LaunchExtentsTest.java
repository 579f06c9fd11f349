package dev.kiln.irlow.analysis;

import static dev.kiln.irlow.expr.Exprs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.Kernels;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.analysis.LaunchExtents.Dim3;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import java.util.List;
import org.junit.jupiter.api.Test;

class LaunchExtentsTest {
    static final Buffer C = new Buffer("C", ScalarType.F32, 1 << 16);

    /** A 2-D nest: block y, block x, thread y, thread x around one store. */
    static PrimFunc bound2d(Expr blockY, Expr blockX, Expr threadY, Expr threadX) {
        Expr.Var by = var("by"), bx = var("bx"), ty = var("ty"), tx = var("tx");
        Stmt s = new Stmt.Store(C, add(add(mul(by, idx(4096)), mul(bx, idx(256))), add(mul(ty, idx(16)), tx)), f32(1));
        s = new Stmt.For(tx, idx(0), threadX, ForKind.GPU_THREAD_X, s);
        s = new Stmt.For(ty, idx(0), threadY, ForKind.GPU_THREAD_Y, s);
        s = new Stmt.For(bx, idx(0), blockX, ForKind.GPU_BLOCK_X, s);
        s = new Stmt.For(by, idx(0), blockY, ForKind.GPU_BLOCK_Y, s);
        return new PrimFunc("bound", List.of(C), s);
    }

    // ---- correctness

    @Test
    void boundNestGivesGridAndBlockPerAxis() {
        LaunchExtents e = LaunchExtents.of(bound2d(idx(4), idx(16), mul(idx(4), idx(4)), idx(16)));
        assertEquals(new Dim3(16, 4, 1), e.grid());
        assertEquals(new Dim3(16, 16, 1), e.block(), "4*4 is folded to a constant");
        assertEquals(256, e.block().total());
    }

    @Test
    void threadLoopsOfOneBlockMayBindTheSameAxisWithTheSameExtent() {
        LaunchExtents e = LaunchExtents.of(Kernels.blockReverse(3, 8));
        assertEquals(new LaunchExtents(new Dim3(3, 1, 1), new Dim3(8, 1, 1)), e);
    }

    @Test
    void kernelWithoutGpuLoopsIsOneBlockOfOneThread() {
        assertEquals(LaunchExtents.SINGLE, LaunchExtents.of(Kernels.matmul(8, 8, 8)));
        assertEquals(new LaunchExtents(new Dim3(1, 1, 1), new Dim3(1, 1, 1)), LaunchExtents.SINGLE);
    }

    // ---- errors

    @Test
    void axisBoundTwiceWithDifferentExtentsNamesBothLoops() {
        Expr.Var a = var("a"), b = var("b");
        Stmt s = new Stmt.Seq(List.of(
                new Stmt.For(a, idx(0), idx(32), ForKind.GPU_THREAD_X, new Stmt.Store(C, a, f32(0))),
                new Stmt.For(b, idx(0), idx(64), ForKind.GPU_THREAD_X, new Stmt.Store(C, b, f32(1)))));
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchExtents.of(new PrimFunc("twice", List.of(C), s)));
        assertTrue(e.getMessage().contains("kernel twice") && e.getMessage().contains("loop b") && e.getMessage().contains("loop a")
                && e.getMessage().contains("32") && e.getMessage().contains("64"), e.getMessage());
    }

    @Test
    void nonConstantExtentNamesTheLoop() {
        // The last block is partial: its thread extent depends on the block index.
        Expr partial = min(idx(16), sub(idx(40), mul(var("bx"), idx(16))));
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchExtents.of(bound2d(idx(1), idx(3), idx(1), partial)));
        assertTrue(e.getMessage().contains("loop tx") && e.getMessage().contains("GPU_THREAD_X")
                && e.getMessage().contains("not a compile-time constant"), e.getMessage());
    }

    @Test
    void emptyExtentIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchExtents.of(bound2d(idx(0), idx(1), idx(1), idx(1))));
        assertTrue(e.getMessage().contains("loop by") && e.getMessage().contains("at least 1"), e.getMessage());
    }
}
