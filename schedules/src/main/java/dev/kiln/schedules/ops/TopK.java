package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * TopK by ranking instead of sorting (the IR has no sort): an element's rank is how many
 * elements on its axis beat it (better value, or equal value at a lower position), so the j-th
 * output is the element of rank j. Quadratic in the axis length, which suits the short axes TopK
 * is used on.
 */
final class TopK {
    private TopK() {}

    static void topK(OpBuilder b) {
        long[] x = b.inDims(0), out = b.outDims(0);
        int a = b.axis(b.node.attrInt("axis", -1), x.length);
        boolean largest = b.node.attrInt("largest", 1) != 0;
        long len = x[a];
        Placeholder px = b.input(0);
        Expr.Var j = b.reduceAxis("tj");
        Compute rank = Te.compute(b.name(b.outName(0) + "_rank"), ScalarType.I64, Te.box(x), ax -> {
            List<Expr> at = new ArrayList<>(ax);
            at.set(a, j);
            Expr other = Te.read(px, at), self = Te.read(px, ax);
            Expr better = largest ? Idx.cmp(CmpOp.GT, other, self) : Exprs.lt(other, self);
            Expr tie = Exprs.and(Idx.cmp(CmpOp.EQ, other, self), Exprs.lt(j, ax.get(a)));
            Expr beats = Idx.cmp(CmpOp.NE, Exprs.add(Exprs.cast(ScalarType.I64, better), Exprs.cast(ScalarType.I64, tie)), Idx.c(0));
            return Te.sum(Exprs.select(beats, Idx.c(1), Idx.c(0)), List.of(j), List.of(len));
        });
        // The kernel's outputs are computed in order, so Values cannot read the Indices output:
        // it reads its own copy of the positions.
        java.util.function.Function<String, Compute> positions = name -> {
            Expr.Var i = b.reduceAxis("ti");
            return Te.compute(name, ScalarType.I64, Te.box(out), ax -> {
                List<Expr> at = new ArrayList<>(ax);
                at.set(a, i);
                return Te.sum(Exprs.select(Idx.cmp(CmpOp.EQ, Te.read(rank, at), ax.get(a)), i, Idx.c(0)), List.of(i), List.of(len));
            });
        };
        Compute pos = positions.apply(b.name(b.outName(0) + "_pos"));
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(out), ax -> {
            List<Expr> at = new ArrayList<>(ax);
            at.set(a, Idx.clamp(Te.read(pos, ax), 0, len - 1));
            return Te.read(px, at);
        }));
        if (b.hasOutput(1)) b.output(1, positions.apply(b.outName(1)));
    }
}
