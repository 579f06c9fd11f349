package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.List;

/**
 * ReduceSum, ReduceMean, ReduceMax, ReduceMin and ReduceProd. The input is viewed with neighbouring dimensions merged
 * when both are reduced or both kept, so a reduction over H and W of NCHW is one axis of
 * {@code [N*C, H*W]}. keepdims does not change the flat output, so it only shows in the graph.
 */
final class Reduce {
    private Reduce() {}

    /** Merged dimensions of the input: each with its extent and whether it is reduced. */
    private record Dims(long[] extent, boolean[] reduced) {
        static Dims of(long[] x, boolean[] red) {
            List<Long> e = new ArrayList<>();
            List<Boolean> r = new ArrayList<>();
            for (int d = 0; d < x.length; d++) {
                if (x[d] == 1) continue;
                if (!r.isEmpty() && r.getLast() == red[d]) e.set(e.size() - 1, e.getLast() * x[d]);
                else {
                    e.add(x[d]);
                    r.add(red[d]);
                }
            }
            boolean[] rr = new boolean[r.size()];
            for (int i = 0; i < rr.length; i++) rr[i] = r.get(i);
            return new Dims(e.stream().mapToLong(Long::longValue).toArray(), rr);
        }

        long[] kept() {
            List<Long> k = new ArrayList<>();
            for (int d = 0; d < extent.length; d++) if (!reduced[d]) k.add(extent[d]);
            if (k.isEmpty()) k.add(1L);
            return k.stream().mapToLong(Long::longValue).toArray();
        }

        long count() {
            long n = 1;
            for (int d = 0; d < extent.length; d++) if (reduced[d]) n *= extent[d];
            return n;
        }
    }

    static void reduce(OpBuilder b) {
        String op = b.node.op();
        long[] x = b.inDims(0);
        int r = x.length;
        long[] axes;
        if (b.node.hasInput(1)) axes = b.constInts(1, "axes");
        else axes = b.node.attrInts("axes", null);
        boolean[] red = new boolean[r];
        if (axes == null || axes.length == 0) {
            if (b.node.attrInt("noop_with_empty_axes", 0) != 0) {
                Elementwise.copy(b);
                return;
            }
            java.util.Arrays.fill(red, true);
        } else {
            for (long a : axes) red[b.axis(a, r)] = true;
        }
        Dims dims = Dims.of(x, red);
        ScalarType t = b.outType(0);
        Placeholder px = b.input(0, dims.extent().length == 0 ? new long[] {1} : dims.extent());
        List<Expr.Var> raxes = new ArrayList<>();
        List<Long> rext = new ArrayList<>();
        for (int d = 0; d < dims.extent().length; d++) {
            if (dims.reduced()[d]) {
                raxes.add(b.reduceAxis("rr" + raxes.size()));
                rext.add(dims.extent()[d]);
            }
        }
        boolean epilogue = switch (op) {
            case "ReduceMean", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp" -> true;
            default -> false;
        };
        Expr.ReduceOp rop = switch (op) {
            case "ReduceMax" -> Expr.ReduceOp.MAX;
            case "ReduceMin" -> Expr.ReduceOp.MIN;
            case "ReduceProd" -> Expr.ReduceOp.PROD;
            default -> Expr.ReduceOp.SUM;
        };
        String accName = epilogue ? b.name("reduce") : b.outName(0);
        int m = dims.extent().length;
        boolean innermostOnly = m > 0 && dims.reduced()[m - 1] && raxes.size() == 1;
        Compute acc = innermostOnly ? RowReduce.of(b, accName, t, dims.kept(), rop, dims.extent()[m - 1], (ax, ri) -> {
            List<Expr> idx = new ArrayList<>(ax.subList(0, m - 1));
            idx.add(ri);
            return prologue(op, Te.read(px, idx));
        }) : Te.compute(accName, t, Te.box(dims.kept()), ax -> {
            List<Expr> idx = new ArrayList<>();
            int k = 0, rk = 0;
            for (int d = 0; d < dims.extent().length; d++) idx.add(dims.reduced()[d] ? raxes.get(rk++) : ax.get(k++));
            if (idx.isEmpty()) idx.add(Idx.c(0));
            Expr src = prologue(op, Te.read(px, idx));
            if (raxes.isEmpty()) return new Expr.Reduce(rop, src, List.of(Te.reduceAxis(b.name("rr_unit"))), List.of(1L));
            return new Expr.Reduce(rop, src, raxes, rext);
        });
        if (!epilogue) {
            b.output(0, acc);
            return;
        }
        long n = dims.count();
        b.output(0, Te.compute(b.outName(0), t, Te.box(dims.kept()), ax -> {
            Expr sum = Te.read(acc, ax);
            return switch (op) {
                case "ReduceL2" -> t.isFloat ? Exprs.call(Intrinsic.SQRT, sum)
                        : Exprs.cast(t, Exprs.call(Intrinsic.SQRT, Exprs.cast(ScalarType.F64, sum)));
                case "ReduceLogSum", "ReduceLogSumExp" -> Exprs.call(Intrinsic.LOG, sum);
                default -> Exprs.div(sum, Idx.lit(t, n));
            };
        }));
    }

    /** What L1, L2, SumSquare and LogSumExp sum instead of the element itself. */
    private static Expr prologue(String op, Expr x) {
        return switch (op) {
            case "ReduceL1" -> Elementwise.abs(x);
            case "ReduceL2", "ReduceSumSquare" -> Exprs.mul(x, x);
            case "ReduceLogSumExp" -> Exprs.call(Intrinsic.EXP, x);
            default -> x;
        };
    }
}
