package dev.kiln.codegen.opencl;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Children;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Private arrays that are only ever read and written as whole, aligned vectors of one width
 * (a register tile after vectorization): the printer declares them as arrays of that vector type
 * ({@code float16 acc[8]}) and indexes them by vector. OpenCL compilers keep such an array in
 * vector registers once its loops are unrolled, while a {@code float} array accessed through
 * {@code vloadN}/{@code vstoreN} tends to stay in memory (four times slower on PoCL for a
 * matmul tile).
 */
final class VectorArrays {
    private VectorArrays() {}

    /** The lanes of each private allocation in {@code body} that qualifies. */
    static Map<Buffer, Integer> find(Stmt body) {
        Map<Buffer, Integer> out = new HashMap<>();
        visit(body, out);
        return out;
    }

    private static void visit(Stmt s, Map<Buffer, Integer> out) {
        if (s instanceof Stmt.Allocate a && a.buffer().scope() != MemoryScope.SHARED) {
            int w = lanes(a.buffer(), a.body());
            if (w > 1) out.put(a.buffer(), w);
        }
        Children.forEach(s, c -> visit(c, out), e -> {});
    }

    /** The one vector width of every access of {@code b} in {@code body}, or 0 when some access is not a whole aligned vector. */
    static int lanes(Buffer b, Stmt body) {
        if (b.dtype() == ScalarType.F16 || b.dtype() == ScalarType.BF16 || b.dtype() == ScalarType.BOOL) return 0;
        List<Expr> indices = new ArrayList<>();
        collect(body, b, indices);
        int w = 0;
        for (Expr index : indices) {
            int lanes = index.type().lanes();
            Expr base = ExprPrinter.denseBase(index);
            if (lanes == 1 || base == null || (w != 0 && lanes != w) || !divisible(base, lanes)) return 0;
            w = lanes;
        }
        return w > 1 && b.size() % w == 0 ? w : 0;
    }

    private static void collect(Stmt s, Buffer b, List<Expr> indices) {
        if (s instanceof Stmt.Store st && st.buffer().equals(b)) indices.add(st.index());
        Children.forEach(s, c -> collect(c, b, indices), e -> collect(e, b, indices));
    }

    private static void collect(Expr e, Buffer b, List<Expr> indices) {
        if (e instanceof Expr.Load ld && ld.buffer().equals(b)) indices.add(ld.index());
        Children.forEach(e, c -> collect(c, b, indices));
    }

    /** Whether {@code e} is a multiple of {@code w} for every value of its variables. */
    static boolean divisible(Expr e, long w) {
        return switch (e) {
            case Expr.IntImm(var t, long v) -> v % w == 0;
            case Expr.Add(Expr a, Expr b) -> divisible(a, w) && divisible(b, w);
            case Expr.Sub(Expr a, Expr b) -> divisible(a, w) && divisible(b, w);
            case Expr.Mul(Expr a, Expr b) -> divisible(a, w) || divisible(b, w);
            default -> false;
        };
    }

    /** {@code e / w} for an {@code e} that {@link #divisible} accepted. */
    static Expr quotient(Expr e, long w) {
        return switch (e) {
            case Expr.IntImm(var t, long v) -> new Expr.IntImm(t, v / w);
            case Expr.Add(Expr a, Expr b) -> Exprs.add(quotient(a, w), quotient(b, w));
            case Expr.Sub(Expr a, Expr b) -> Exprs.sub(quotient(a, w), quotient(b, w));
            case Expr.Mul(Expr a, Expr b) -> divisible(a, w) ? Exprs.mul(quotient(a, w), b) : Exprs.mul(a, quotient(b, w));
            default -> throw new IllegalArgumentException(e + " is not a multiple of " + w);
        };
    }
}
