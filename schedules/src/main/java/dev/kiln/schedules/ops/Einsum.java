package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Shape;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * Einsum as one compute: the product of the inputs read at their labels' index variables,
 * summed over the labels the output does not have (see the ir-high definition's plan). No
 * contraction ordering or MatMul rewrite: it suits the small equations models use it for.
 */
final class Einsum {
    private Einsum() {}

    static void einsum(OpBuilder b) {
        int count = b.node.inputs().size();
        List<Shape> shapes = new ArrayList<>();
        for (int k = 0; k < count; k++) shapes.add(Shape.of(b.inDims(k)));
        dev.kiln.irhigh.ops.Einsum.Plan p = dev.kiln.irhigh.ops.Einsum.plan(b.node, shapes);
        List<Placeholder> ins = new ArrayList<>();
        for (int k = 0; k < count; k++) ins.add(b.input(k));
        List<Expr.Var> red = new ArrayList<>();
        List<Long> extents = new ArrayList<>();
        for (int l : p.summed()) {
            red.add(b.reduceAxis("e" + l));
            extents.add(p.sizes()[l]);
        }
        ScalarType t = b.outType(0);
        long[] outDims = p.output().length == 0 ? new long[] {1} : p.outputDims(); // a scalar is held as one element
        b.output(0, Te.compute(b.outName(0), t, Te.box(outDims), ax -> {
            Expr[] var = new Expr[p.sizes().length];
            for (int d = 0; d < p.output().length; d++) var[p.output()[d]] = ax.get(d);
            for (int j = 0; j < p.summed().length; j++) var[p.summed()[j]] = red.get(j);
            Expr prod = null;
            for (int k = 0; k < count; k++) {
                long[] dims = b.inDims(k);
                List<Expr> at = new ArrayList<>();
                for (int d = 0; d < dims.length; d++) at.add(dims[d] == 1 ? Idx.c(0) : var[p.inputs()[k][d]]);
                if (at.isEmpty()) at.add(Idx.c(0));
                Expr r = Te.read(ins.get(k), at);
                prod = prod == null ? r : Exprs.mul(prod, r);
            }
            return red.isEmpty() ? prod : Te.sum(prod, red, extents);
        }));
    }
}
