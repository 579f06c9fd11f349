package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.lower.LowerTe;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * A reduction along the innermost, contiguous axis of its input (a softmax or layer-norm row, a
 * global pool's H*W). Reduced one element at a time it cannot be vectorized; so where the extent
 * is a multiple of a vector width it is reduced in two steps (TVM's rfactor): partial results in
 * L lanes over {@code [.., L]} (tagged {@link Template#RFACTOR}: contiguous vector loads, the
 * math vectorized), then the L lanes. A row of 64 or more that 16 does not divide takes its
 * multiple of 16 that way and the few elements past it as a small reduction of their own.
 */
final class RowReduce {
    private RowReduce() {}

    /**
     * {@code name[kept...] = op over r in [0, extent) of source(kept axes, r)}, where source reads
     * its inputs with r as the innermost index.
     */
    static Compute of(OpBuilder b, String name, ScalarType t, long[] kept, Expr.ReduceOp op, long extent,
                      BiFunction<List<? extends Expr>, Expr, Expr> source) {
        long lanes = extent % 16 == 0 && extent >= 32 ? 16 : extent % 8 == 0 && extent >= 16 ? 8 : extent >= 64 ? 16 : 0;
        if (lanes == 0) {
            Expr.Var r = b.reduceAxis("r" + name);
            return Te.compute(name, t, Te.box(kept), ax -> new Expr.Reduce(op, source.apply(ax, r), List.of(r), List.of(extent)));
        }
        long main = extent / lanes * lanes, tail = extent - main;
        Expr.Var ro = b.reduceAxis("r" + name + "_o"), rl = b.reduceAxis("r" + name + "_l");
        List<Long> pshape = new ArrayList<>(Te.box(kept));
        pshape.add(lanes);
        Compute partial = Te.compute(b.name(name + "_lanes"), t, pshape, ax -> {
            Expr r = Idx.window(ro, lanes, ax.getLast(), 1, 0);
            return new Expr.Reduce(op, source.apply(ax.subList(0, ax.size() - 1), r), List.of(ro), List.of(main / lanes));
        });
        b.tag(partial, Template.RFACTOR);
        Compute lanesDone = Te.compute(tail == 0 ? name : b.name(name + "_main"), t, Te.box(kept), ax -> {
            List<Expr> idx = new ArrayList<>(ax);
            idx.add(rl);
            return new Expr.Reduce(op, Te.read(partial, idx), List.of(rl), List.of(lanes));
        });
        if (tail == 0) return lanesDone;
        // The last extent % lanes elements (a row of 6625 classes: 414 vectors and one more), then both combined.
        Expr.Var rt = b.reduceAxis("r" + name + "_t");
        Compute rest = Te.compute(b.name(name + "_tail"), t, Te.box(kept), ax ->
                new Expr.Reduce(op, source.apply(ax, Exprs.add(rt, Idx.c(main))), List.of(rt), List.of(tail)));
        return Te.compute(name, t, Te.box(kept), ax -> LowerTe.combine(op, Te.read(lanesDone, ax), Te.read(rest, ax)));
    }
}
