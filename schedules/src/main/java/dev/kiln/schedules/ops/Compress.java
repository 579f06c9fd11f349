package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/** Compress with a compile-time condition: a gather along the axis through a table of the kept positions. */
final class Compress {
    private Compress() {}

    static void compress(OpBuilder b) {
        long[] x = b.inDims(0);
        boolean hasAxis = b.node.has("axis");
        Tensor cond = b.constant(1);
        if (cond == null) throw b.unsupported("Compress with a run-time condition");
        long[] kept = dev.kiln.irhigh.ops.Compress.kept(b.node, Shape.of(x), cond.toLongArray());
        if (kept.length == 0) throw b.unsupported("Compress with an all-false condition (an empty output)");
        int a = hasAxis ? b.axis(b.node.attrInt("axis", 0), x.length) : 0;
        Placeholder px = hasAxis ? b.input(0) : b.input(0, new long[] {Idx.numel(x)});
        Placeholder table = b.derivedConstant(b.node.output(0) + "_kept", Tensor.ofLongs(new Shape(kept.length), kept));
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(b.outDims(0)), ax -> {
            List<Expr> at = new ArrayList<>(ax);
            at.set(a, Te.read(table, ax.get(a)));
            return Te.read(px, at);
        }));
    }
}
