package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.Spectral;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * DFT and STFT as reductions over the samples: bin k of an N-point transform sums
 * {@code x[t] e^(-+2 pi i k t / N)}, the angle taken from {@code (k t) mod N} in integers so
 * that it stays exact for long transforms, and the sum accumulated in fp64 (a float sum of a few
 * hundred terms that cancel to zero leaves 1e-5 where the transform is exactly 0). The (real,
 * imaginary) pair is the output's last axis.
 * Quadratic in the transform size, which suits the frame lengths of audio front ends (a few
 * hundred samples); an FFT template is future work.
 */
final class SpectralOps {
    private SpectralOps() {}

    private static List<Tensor> consts(OpBuilder b, int n) {
        List<Tensor> r = new ArrayList<>();
        for (int i = 0; i < n; i++) r.add(b.constant(i));
        return r;
    }

    /** One term of a transform: the real or imaginary part ({@code part} 0 or 1) of x * e^(sign i angle). */
    private static Expr term(Expr part, Expr xr, Expr xi, Expr angle, boolean inverse, ScalarType t) {
        Expr c = Exprs.call(Intrinsic.COS, angle), s = Exprs.call(Intrinsic.SIN, angle);
        Expr re = inverse ? Exprs.sub(Exprs.mul(xr, c), Exprs.mul(xi, s)) : Exprs.add(Exprs.mul(xr, c), Exprs.mul(xi, s));
        Expr im = inverse ? Exprs.add(Exprs.mul(xi, c), Exprs.mul(xr, s)) : Exprs.sub(Exprs.mul(xi, c), Exprs.mul(xr, s));
        return Exprs.select(Idx.cmp(CmpOp.EQ, part, Idx.c(0)), re, im);
    }

    /** {@code 2 pi ((k t) mod n) / n} in the compute type. */
    private static Expr angle(Expr k, Expr t, long n, ScalarType type) {
        Expr turns = Exprs.cast(type, Exprs.mod(Exprs.mul(k, t), Idx.c(n)));
        return Exprs.mul(turns, Idx.lit(type, 2 * Math.PI / n));
    }

    static void dft(OpBuilder b) {
        Spectral.DftShape s = Spectral.dftShape(b.node, b.in(0).shape(), consts(b, 3));
        ScalarType t = ScalarType.F64;
        Placeholder x = b.input(0, new long[] {s.outer(), s.length(), s.inner(), s.channels()});
        long taps = Math.min(s.length(), s.size());
        Expr.Var n = b.reduceAxis("t");
        long[] out = {s.outer(), s.bins(), s.inner(), 2};
        Compute sum = Te.compute(b.name(b.outName(0) + "_sum"), t, Te.box(out), ax -> {
            Expr xr = Exprs.cast(t, Te.read(x, List.of(ax.get(0), n, ax.get(2), Idx.c(0))));
            Expr xi = s.channels() == 2 ? Exprs.cast(t, Te.read(x, List.of(ax.get(0), n, ax.get(2), Idx.c(1)))) : Idx.lit(t, 0);
            Expr v = term(ax.get(3), xr, xi, angle(ax.get(1), n, s.size(), t), s.inverse(), t);
            if (s.inverse()) v = Exprs.mul(v, Idx.lit(t, 1.0 / s.size()));
            return Te.sum(v, List.of(n), List.of(taps));
        });
        b.output(0, narrowed(b, sum, out));
    }

    static void stft(OpBuilder b) {
        List<Value> ins = new ArrayList<>();
        for (int i = 0; i < b.node.inputs().size(); i++) ins.add(b.node.hasInput(i) ? b.in(i) : null);
        Spectral.StftShape s = Spectral.stftShape(b.node, ins.get(0), ins.size() > 2 ? ins.get(2) : null, consts(b, 4));
        ScalarType t = ScalarType.F64;
        Placeholder x = b.input(0, new long[] {s.batch(), s.length(), s.channels()});
        Placeholder w = s.windowed() ? b.input(2, new long[] {s.frameLength()}) : null;
        Expr.Var n = b.reduceAxis("t");
        long[] out = {s.batch(), s.frames(), s.bins(), 2};
        Compute sum = Te.compute(b.name(b.outName(0) + "_sum"), t, Te.box(out), ax -> {
            Expr at = Exprs.add(Idx.mul(ax.get(1), s.step()), n);
            Expr g = w != null ? Exprs.cast(t, Te.read(w, List.of(n))) : null;
            Expr xr = Exprs.cast(t, Te.read(x, List.of(ax.get(0), at, Idx.c(0))));
            Expr xi = s.channels() == 2 ? Exprs.cast(t, Te.read(x, List.of(ax.get(0), at, Idx.c(1)))) : Idx.lit(t, 0);
            if (g != null) {
                xr = Exprs.mul(xr, g);
                xi = Exprs.mul(xi, g);
            }
            return Te.sum(term(ax.get(3), xr, xi, angle(ax.get(2), n, s.frameLength(), t), false, t), List.of(n), List.of(s.frameLength()));
        });
        b.output(0, narrowed(b, sum, out));
    }

    /** The fp64 sums in the output's type. */
    private static Compute narrowed(OpBuilder b, Compute sum, long[] shape) {
        return Te.compute(b.outName(0), b.outType(0), Te.box(shape), ax -> Exprs.cast(b.outType(0), Te.read(sum, ax)));
    }

}
