package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.ops.RoiAlign;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.List;
import java.util.function.Function;

/**
 * The RoiAlign kernel, written as loop IR: with {@code sampling_ratio} 0 the number of samples
 * per bin is {@code ceil(bin size)}, which depends on each region's coordinates, so the sample
 * loops have extents computed at run time (tensor expressions need them constant). Regions run
 * in parallel on a CPU; each bin accumulates its samples in a register. Semantics: {@link RoiAlign}.
 */
final class RoiAlignKernel {
    private RoiAlignKernel() {}

    static Kernel kernel(Node n, Graph g, Target target) {
        RoiAlign.Settings s = RoiAlign.settings(n);
        int[] x = g.value(n.input(0)).shape().dims();
        int regions = g.value(n.input(1)).shape().dim(0);
        ScalarType xt = OpBuilder.scalar(g.value(n.input(0)).dtype());
        ScalarType t = xt == ScalarType.F64 ? ScalarType.F64 : ScalarType.F32;
        Buffer px = new Buffer("x", xt, g.value(n.input(0)).shape().numel());
        Buffer pr = new Buffer("rois", OpBuilder.scalar(g.value(n.input(1)).dtype()), regions * 4L);
        Buffer pb = new Buffer("batch_indices", OpBuilder.scalar(g.value(n.input(2)).dtype()), regions);
        Buffer py = new Buffer("y", xt, g.value(n.output(0)).shape().numel());
        int channels = x[1], height = x[2], width = x[3];
        Function<Double, Expr> lit = v -> Idx.lit(t, v);
        Function<Expr, Expr> f = e -> Exprs.cast(t, e);
        Expr.Var r = Exprs.var("r"), c = Exprs.var("c"), ph = Exprs.var("ph"), pw = Exprs.var("pw"), iy = Exprs.var("iy"), ix = Exprs.var("ix");
        double off = s.halfPixel() ? 0.5 : 0;
        Function<Integer, Expr> roi = k -> Exprs.sub(Exprs.mul(f.apply(new Expr.Load(pr, Idx.add(Idx.mul(r, 4), k))), lit.apply(s.spatialScale())), lit.apply(off));
        Expr.Var x0 = val("x0", t), y0 = val("y0", t), w = val("w", t), h = val("h", t), binW = val("bin_w", t), binH = val("bin_h", t);
        Expr.Var gridH = Exprs.var("grid_h"), gridW = Exprs.var("grid_w"), count = val("count", t), plane = Exprs.var("plane");
        Expr width0 = Exprs.sub(roi.apply(2), x0), height0 = Exprs.sub(roi.apply(3), y0);
        Buffer acc = new Buffer("acc", t, 1);

        // One sample at (yy, xx): the four weighted corners (zero more than a pixel outside).
        Expr.Var yy = val("yy", t), xx = val("xx", t);
        Expr outside = new Expr.Or(new Expr.Or(Exprs.lt(yy, lit.apply(-1.0)), Idx.cmp(CmpOp.GT, yy, lit.apply((double) height))),
                new Expr.Or(Exprs.lt(xx, lit.apply(-1.0)), Idx.cmp(CmpOp.GT, xx, lit.apply((double) width))));
        Expr yc = Exprs.max(yy, lit.apply(0.0)), xc = Exprs.max(xx, lit.apply(0.0));
        Expr.Var yl = Exprs.var("y_low"), xl = Exprs.var("x_low");
        Expr yEdge = Exprs.ge(yl, Idx.c(height - 1)), xEdge = Exprs.ge(xl, Idx.c(width - 1));
        Expr y0i = Exprs.select(yEdge, Idx.c(height - 1), yl), x0i = Exprs.select(xEdge, Idx.c(width - 1), xl);
        Expr y1i = Exprs.select(yEdge, Idx.c(height - 1), Idx.add(yl, 1)), x1i = Exprs.select(xEdge, Idx.c(width - 1), Idx.add(xl, 1));
        Expr ly = Exprs.select(yEdge, lit.apply(0.0), Exprs.sub(yc, f.apply(yl))), lx = Exprs.select(xEdge, lit.apply(0.0), Exprs.sub(xc, f.apply(xl)));
        Expr hy = Exprs.sub(lit.apply(1.0), ly), hx = Exprs.sub(lit.apply(1.0), lx);
        Function<Expr[], Expr> at = yxs -> f.apply(new Expr.Load(px, Exprs.add(plane,
                Exprs.add(Idx.mul(Idx.clamp(yxs[0], 0, height - 1), width), Idx.clamp(yxs[1], 0, width - 1)))));
        Expr[] corner = {
            Exprs.mul(Exprs.mul(hy, hx), at.apply(new Expr[] {y0i, x0i})), Exprs.mul(Exprs.mul(hy, lx), at.apply(new Expr[] {y0i, x1i})),
            Exprs.mul(Exprs.mul(ly, hx), at.apply(new Expr[] {y1i, x0i})), Exprs.mul(Exprs.mul(ly, lx), at.apply(new Expr[] {y1i, x1i}))};
        for (int k = 0; k < 4; k++) corner[k] = Exprs.select(outside, lit.apply(0.0), corner[k]);
        Expr prev = new Expr.Load(acc, Idx.c(0));
        Expr update = s.max() ? Exprs.max(prev, Exprs.max(Exprs.max(corner[0], corner[1]), Exprs.max(corner[2], corner[3])))
                : Exprs.add(prev, Exprs.add(Exprs.add(corner[0], corner[1]), Exprs.add(corner[2], corner[3])));
        Stmt sample = new Stmt.LetStmt(yl, Exprs.cast(ScalarType.I64, yc), new Stmt.LetStmt(xl, Exprs.cast(ScalarType.I64, xc),
                new Stmt.Store(acc, Idx.c(0), update)));
        Expr yAt = Exprs.add(Exprs.add(y0, Exprs.mul(f.apply(ph), binH)), Exprs.div(Exprs.mul(Exprs.add(f.apply(iy), lit.apply(0.5)), binH), f.apply(gridH)));
        Expr xAt = Exprs.add(Exprs.add(x0, Exprs.mul(f.apply(pw), binW)), Exprs.div(Exprs.mul(Exprs.add(f.apply(ix), lit.apply(0.5)), binW), f.apply(gridW)));
        Stmt samples = new Stmt.For(iy, Idx.c(0), gridH, ForKind.SERIAL, new Stmt.LetStmt(yy, yAt,
                new Stmt.For(ix, Idx.c(0), gridW, ForKind.SERIAL, new Stmt.LetStmt(xx, xAt, sample))));
        Expr out = Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(r, channels), c), s.outH()), ph), s.outW()), pw);
        Expr result = s.max() ? Exprs.select(Idx.cmp(CmpOp.GT, Exprs.mul(gridH, gridW), Idx.c(0)), prev, lit.apply(0.0))
                : Exprs.div(prev, count);
        Stmt bin = new Stmt.Allocate(acc, new Stmt.Seq(List.of(
                new Stmt.Store(acc, Idx.c(0), lit.apply(s.max() ? -Double.MAX_VALUE : 0.0)),
                samples,
                new Stmt.Store(py, out, Exprs.cast(xt, result)))));
        Stmt perChannel = new Stmt.For(c, Idx.c(0), Idx.c(channels), ForKind.SERIAL, new Stmt.LetStmt(plane,
                Idx.mul(Exprs.add(Idx.mul(batch(pb, r, x[0]), channels), c), (long) height * width),
                new Stmt.For(ph, Idx.c(0), Idx.c(s.outH()), ForKind.SERIAL, new Stmt.For(pw, Idx.c(0), Idx.c(s.outW()), ForKind.SERIAL, bin))));
        Expr gh = s.samplingRatio() > 0 ? Idx.c(s.samplingRatio()) : Exprs.cast(ScalarType.I64, Exprs.call(Intrinsic.CEIL, Exprs.div(h, lit.apply((double) s.outH()))));
        Expr gw = s.samplingRatio() > 0 ? Idx.c(s.samplingRatio()) : Exprs.cast(ScalarType.I64, Exprs.call(Intrinsic.CEIL, Exprs.div(w, lit.apply((double) s.outW()))));
        Expr hh = s.halfPixel() ? height0 : Exprs.max(height0, lit.apply(1.0)), ww = s.halfPixel() ? width0 : Exprs.max(width0, lit.apply(1.0));
        Stmt region = new Stmt.LetStmt(x0, roi.apply(0), new Stmt.LetStmt(y0, roi.apply(1),
                new Stmt.LetStmt(w, ww, new Stmt.LetStmt(h, hh,
                new Stmt.LetStmt(binW, Exprs.div(w, lit.apply((double) s.outW())), new Stmt.LetStmt(binH, Exprs.div(h, lit.apply((double) s.outH())),
                new Stmt.LetStmt(gridH, gh, new Stmt.LetStmt(gridW, gw,
                new Stmt.LetStmt(count, f.apply(Exprs.max(Exprs.mul(gridH, gridW), Idx.c(1))), perChannel)))))))));
        ForKind outer = target instanceof CpuTarget && regions > 1 ? ForKind.PARALLEL : ForKind.SERIAL;
        Stmt body = new Stmt.For(r, Idx.c(0), Idx.c(regions), outer, region);
        String base = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc fn = new PrimFunc("k_" + OpBuilder.sanitize(base).replaceFirst("^v_", ""), List.of(px, pr, pb, py), body);
        return new Kernel(fn, List.of(n.input(0), n.input(1), n.input(2)), List.of(n.output(0)),
                new Kernel.Info(n.name(), List.of("RoiAlign"), "roi_align", "", 0));
    }

    private static Expr.Var val(String name, ScalarType t) {
        return new Expr.Var(name, Type.of(t));
    }

    /** batch_indices[r] widened to an index and kept inside the batch. */
    private static Expr batch(Buffer pb, Expr r, int batch) {
        return Idx.clamp(Idx.asIndex(new Expr.Load(pb, r)), 0, batch - 1);
    }
}
