package dev.kiln.schedules.ops;

import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * Ops whose output elements are addressed by index values read at run time: GatherND and
 * OneHot. Out-of-range indices are an error in ONNX (the evaluator reports them); the kernels
 * clamp them so their reads stay in bounds.
 */
final class Indexing {
    private Indexing() {}

    /** An index read from a tensor, negative counting from the end, clamped into [0, extent). */
    static Expr wrapClamp(Expr raw, long extent) {
        Expr i = Idx.asIndex(raw);
        i = Exprs.select(Exprs.lt(i, Idx.c(0)), Idx.add(i, extent), i);
        return Idx.clamp(i, 0, extent - 1);
    }

    /** GatherND: out[q.., r..] = data[q[:batch].., indices[q.., 0..m-1].., r..]. */
    static void gatherND(OpBuilder b) {
        long[] x = b.inDims(0), is = b.inDims(1);
        int r = x.length, q = is.length, bd = (int) b.node.attrInt("batch_dims", 0), m = (int) is[q - 1];
        Placeholder data = b.input(0), indices = b.input(1);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(b.outDims(0)), ax -> {
            List<Expr> at = new ArrayList<>();
            for (int d = 0; d < r; d++) {
                if (d < bd) at.add(ax.get(d));
                else if (d < bd + m) {
                    List<Expr> row = new ArrayList<>(ax.subList(0, q - 1));
                    row.add(Idx.c(d - bd));
                    at.add(wrapClamp(Te.read(indices, row), x[d]));
                } else at.add(ax.get(q - 1 + d - bd - m));
            }
            return Te.read(data, at);
        }));
    }

    /** OneHot: values[1] where the position on the new axis equals the (wrapped) index, else values[0]. */
    static void oneHot(OpBuilder b) {
        long[] out = b.outDims(0);
        int a = b.axis(b.node.attrInt("axis", -1), out.length);
        long depth = out[a];
        Placeholder indices = b.input(0), values = b.input(2);
        b.output(0, Te.compute(b.outName(0), b.outType(0), Te.box(out), ax -> {
            List<Expr> at = new ArrayList<>(ax);
            at.remove(a);
            Expr i = Idx.asIndex(Te.read(indices, at));
            i = Exprs.select(Exprs.lt(i, Idx.c(0)), Idx.add(i, depth), i);
            Expr hit = Idx.cmp(CmpOp.EQ, i, ax.get(a));
            return Exprs.select(hit, Te.read(values, Idx.c(1)), Te.read(values, Idx.c(0)));
        }));
    }
}
