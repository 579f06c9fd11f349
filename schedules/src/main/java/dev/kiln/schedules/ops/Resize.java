package dev.kiln.schedules.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * Resize from the reference plan ({@link dev.kiln.irhigh.ops.Resize#plan}): scales, sizes and roi
 * are compile-time constants, so each resized axis's taps (input index and weight per output
 * position and tap) are tables built at compile time and bound as derived constants. The body
 * sums, over every combination of taps, the product of the weights times the input there;
 * untouched axes index the input directly. Axes of tf_crop_and_resize that leave the input get
 * a table of flags selecting the extrapolation value.
 */
final class Resize {
    private Resize() {}

    /**
     * Whether an axis's taps give each output position the input at the same position (weights
     * summing to 1 on taps there, 0 elsewhere): a linear or cubic Resize with scale 1 on the batch
     * and channel axes, which would otherwise multiply the taps of the resized axes by 2 or 4 each.
     */
    private static boolean passesThrough(dev.kiln.irhigh.ops.Resize.Axis a, long inputExtent) {
        int n = a.index().length;
        if (n != inputExtent) return false;
        for (int o = 0; o < n; o++) {
            if (!a.inside()[o]) return false;
            double at = 0;
            for (int j = 0; j < a.index()[o].length; j++) {
                if (a.index()[o][j] == o) at += a.weight()[o][j];
                else if (a.weight()[o][j] != 0) return false;
            }
            if (at != 1) return false;
        }
        return true;
    }

    static void resize(OpBuilder b) {
        List<Value> ins = new ArrayList<>();
        List<Tensor> consts = new ArrayList<>();
        for (int i = 0; i < b.node.inputs().size(); i++) {
            ins.add(b.node.hasInput(i) ? b.in(i) : null);
            consts.add(b.constant(i));
        }
        long[] xd = b.inDims(0), yd = b.outDims(0);
        var plan = dev.kiln.irhigh.ops.Resize.plan(b.node, Shape.of(xd), ins, consts);
        ScalarType t = b.outType(0);
        if (!t.isFloat && plan.axes().length > 0)
            for (var a : plan.axes())
                if (a.index().length > 0 && a.index()[0].length > 1)
                    throw b.unsupported("linear or cubic Resize of integer tensors");
        DType wtype = b.out(0).dtype();
        int r = xd.length;
        String base = b.node.output(0) + "__resize";
        Placeholder[] idx = new Placeholder[r], wgt = new Placeholder[r], flag = new Placeholder[r];
        int[] taps = new int[r];
        for (int d = 0; d < r; d++) {
            var a = plan.axes()[d];
            if (a.identity() || passesThrough(a, xd[d])) continue;
            int n = a.index().length, k = n == 0 ? 1 : a.index()[0].length;
            taps[d] = k;
            long[] iv = new long[n * k];
            double[] wv = new double[n * k];
            boolean clipped = false;
            for (int o = 0; o < n; o++) {
                for (int j = 0; j < k; j++) {
                    iv[o * k + j] = a.index()[o][j];
                    wv[o * k + j] = a.weight()[o][j];
                }
                clipped |= !a.inside()[o];
            }
            Shape ts = Shape.of(new long[] {Math.max(n, 1), k});
            if (n == 0) continue;
            idx[d] = b.derivedConstant(base + "_index" + d, Tensor.ofLongs(ts, iv));
            if (k > 1) wgt[d] = b.derivedConstant(base + "_weight" + d, Tensor.generate(wtype, ts, i -> wv[i]));
            if (clipped) {
                long[] fv = new long[n];
                for (int o = 0; o < n; o++) fv[o] = a.inside()[o] ? 1 : 0;
                flag[d] = b.derivedConstant(base + "_inside" + d, Tensor.ofLongs(Shape.of(new long[] {n}), fv));
            }
        }
        Placeholder x = b.input(0);
        double extrapolation = plan.extrapolation();
        b.output(0, Te.compute(b.outName(0), t, Te.box(yd), ax -> {
            Expr sum = null;
            int[] tap = new int[r];
            while (true) {
                List<Expr> xi = new ArrayList<>();
                Expr w = null;
                for (int d = 0; d < r; d++) {
                    if (idx[d] == null) {
                        xi.add(ax.get(d));
                        continue;
                    }
                    xi.add(Idx.asIndex(Te.read(idx[d], ax.get(d), Idx.c(tap[d]))));
                    if (wgt[d] != null) {
                        Expr wd = Te.read(wgt[d], ax.get(d), Idx.c(tap[d]));
                        w = w == null ? wd : Exprs.mul(w, wd);
                    }
                }
                Expr term = Te.read(x, xi);
                if (w != null) term = Exprs.mul(w, term);
                sum = sum == null ? term : Exprs.add(sum, term);
                int d = r - 1;
                while (d >= 0 && (idx[d] == null || ++tap[d] == taps[d])) tap[d--] = 0;
                if (d < 0) break;
            }
            List<Expr> inside = new ArrayList<>();
            for (int d = 0; d < r; d++)
                if (flag[d] != null) inside.add(Idx.cmp(CmpOp.NE, Te.read(flag[d], ax.get(d)), Exprs.intImm(ScalarType.I64, 0)));
            return inside.isEmpty() ? sum : Exprs.select(Idx.all(inside), sum, Idx.lit(t, extrapolation));
        }));
    }
}
