package dev.kiln.schedules.ops;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ops.RnnCell;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The kernel of {@code kiln.Recurrence} (the recurrent part of an LSTM, GRU or RNN, see
 * {@code SplitRecurrent}), written as loop IR: the time loop is sequential by nature, which
 * tensor expressions cannot say. Each step multiplies the previous hidden state of every batch
 * entry by {@code R^T [H, G*H]} for all gates at once (a matrix-vector product over contiguous
 * rows: {@code U} vectors of accumulators, one broadcast of {@code h[k]} and {@code U} fused
 * multiply-adds per k), then applies the gates in one pass over the hidden units. The hidden and
 * cell states and the gate sums live in scratch buffers (the workspace), the state is updated in
 * place once every gate of the step is known. The input projection and the biases come from
 * outside: the MatMul before it computed {@code X W^T} for every step.
 *
 * <p>On a GPU target the kernel runs as one thread (correct, not fast: recurrent layers on GPUs
 * are future work).
 */
final class Recurrence {
    private Recurrence() {}

    /** Accumulator vectors per step of the matrix-vector product (registers they take: U). */
    private static final int UNROLL = 4;

    /** The panel width (columns) R is packed in for {@code target}: what one step of the product keeps in registers. */
    static int panel(Target target) {
        return target instanceof CpuTarget cpu ? cpu.vectorLanes(4) * UNROLL : 1;
    }

    private record Buffers(Buffer xw, Buffer rt, Buffer bias, Buffer lens, Buffer h0, Buffer c0, Buffer p,
                           Buffer y, Buffer yh, Buffer yc) {}

    static Kernel kernel(Node n, Graph g, Target target) {
        RnnCell cell = RnnCell.of(n);
        int d = cell.directions(), h = cell.hidden(), gh = cell.gates() * h, batch = (int) n.attrInt("batch_size", 1);
        Shape xs = g.value(n.input(0)).shape();
        int steps = xs.dim(1) / batch;
        ScalarType t = OpBuilder.scalar(g.value(n.input(0)).dtype());
        List<Buffer> params = new ArrayList<>();
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        String[] roles = {"xw", "rt", "b", "seq_lens", "h0", "c0", "p"};
        Buffer[] in = new Buffer[roles.length];
        for (int i = 0; i < n.inputs().size() && i < roles.length; i++) {
            if (!n.hasInput(i)) continue;
            var v = g.value(n.input(i));
            in[i] = new Buffer(OpBuilder.sanitize(roles[i]), OpBuilder.scalar(v.dtype()), v.shape().numel());
            params.add(in[i]);
            inputs.add(n.input(i));
        }
        Buffer[] out = new Buffer[3];
        String[] outRoles = {"y", "y_h", "y_c"};
        for (int i = 0; i < n.outputs().size(); i++) {
            var v = g.value(n.output(i));
            out[i] = new Buffer(outRoles[i], t, v.shape().numel());
            params.add(out[i]);
            outputs.add(n.output(i));
        }
        Buffers bufs = new Buffers(in[0], in[1], in[2], in[3], in[4], in[5], in[6], out[0], out[1], out[2]);
        int panel = g.value(n.input(1)).shape().dim(3), lanes = target instanceof CpuTarget cpu ? cpu.vectorLanes(4) : 1;
        if (panel % lanes != 0) lanes = 1;
        Emit e = new Emit(cell, bufs, steps, batch, t, lanes, panel);
        Stmt body = e.body();
        String base = n.name().isEmpty() ? n.output(0) : n.name();
        PrimFunc f = new PrimFunc("k_" + OpBuilder.sanitize(base).replaceFirst("^v_", ""), params, body);
        double flops = 2.0 * d * steps * batch * gh * h;
        return new Kernel(f, inputs, outputs, new Kernel.Info(n.name(), List.of(cell.kind().name()), "recurrence", "", flops));
    }

    /** The statements of one kernel. */
    private static final class Emit {
        final RnnCell cell;
        final Buffers b;
        final int steps, batch, h, gh, lanes, panel, packed;
        /** The element type of the tensors, and the one the kernel computes in (fp32 for fp16 tensors). */
        final ScalarType type, acc;
        final Buffer hs, cs, pre, rh;
        int vars;

        Emit(RnnCell cell, Buffers b, int steps, int batch, ScalarType type, int lanes, int panel) {
            this.cell = cell;
            this.b = b;
            this.steps = steps;
            this.batch = batch;
            this.type = type;
            this.acc = type == ScalarType.F16 ? ScalarType.F32 : type;
            this.h = cell.hidden();
            this.gh = cell.gates() * h;
            this.lanes = lanes;
            this.panel = panel;
            this.packed = cell.packedColumns(panel);
            hs = new Buffer("h_state", acc, (long) batch * h);
            cs = new Buffer("c_state", acc, (long) batch * h);
            pre = new Buffer("gate_sums", acc, (long) batch * packed);
            rh = new Buffer("reset_h", acc, (long) batch * h);
        }

        /** A fresh index variable. */
        Expr.Var var(String base) {
            return Exprs.var(base + "_" + vars++);
        }

        /** A fresh variable of the compute type. */
        Expr.Var value(String base) {
            return new Expr.Var(base + "_" + vars++, dev.kiln.irlow.Type.of(acc));
        }

        Stmt loop(String name, long extent, ForKind kind, Function<Expr, Stmt> body) {
            Expr.Var v = var(name);
            return new Stmt.For(v, Idx.c(0), Idx.c(extent), kind, body.apply(v));
        }

        Expr load(Buffer buf, Expr i) {
            Expr v = new Expr.Load(buf, i);
            return buf.dtype() == acc ? v : Exprs.cast(acc, v);
        }

        Stmt store(Buffer buf, Expr i, Expr v) {
            return new Stmt.Store(buf, i, buf.dtype() == v.type().scalar() ? v : Exprs.cast(buf.dtype(), v));
        }

        Expr lit(double v) {
            return Idx.lit(acc, v);
        }

        Stmt body() {
            List<Stmt> all = new ArrayList<>();
            for (int d = 0; d < cell.directions(); d++) all.add(direction(d));
            Stmt s = new Stmt.Seq(all);
            s = new Stmt.Allocate(pre, s);
            if (cell.kind() == RnnCell.Kind.LSTM) s = new Stmt.Allocate(cs, s);
            if (cell.kind() == RnnCell.Kind.GRU && !cell.linearBeforeReset()) s = new Stmt.Allocate(rh, s);
            return new Stmt.Allocate(hs, s);
        }

        /** One direction: initial state, the steps, the final state. */
        Stmt direction(int d) {
            List<Stmt> s = new ArrayList<>();
            long stateBase = (long) d * batch * h;
            s.add(loop("i", (long) batch * h, ForKind.SERIAL, i -> store(hs, i, b.h0 != null ? load(b.h0, Idx.add(i, stateBase)) : lit(0))));
            if (cell.kind() == RnnCell.Kind.LSTM)
                s.add(loop("i", (long) batch * h, ForKind.SERIAL, i -> store(cs, i, b.c0 != null ? load(b.c0, Idx.add(i, stateBase)) : lit(0))));
            s.add(loop("s", steps, ForKind.SERIAL, step -> step(d, step)));
            s.add(loop("i", (long) batch * h, ForKind.SERIAL, i -> store(b.yh, Idx.add(i, stateBase), new Expr.Load(hs, i))));
            if (b.yc != null) {
                s.add(loop("i", (long) batch * h, ForKind.SERIAL, i -> store(b.yc, Idx.add(i, stateBase),
                        cell.kind() == RnnCell.Kind.LSTM ? new Expr.Load(cs, i) : lit(0))));
            }
            return new Stmt.Seq(s);
        }

        /** The length of batch entry bi's sequence, clamped to [0, steps]. */
        Expr length(Expr bi) {
            if (b.lens == null) return Idx.c(steps);
            return Idx.clamp(Idx.asIndex(new Expr.Load(b.lens, bi)), 0, steps);
        }

        /** The time index step s of direction d reads and writes for batch entry bi. */
        Expr time(int d, Expr s, Expr bi) {
            return cell.reversed(d) ? Exprs.sub(Idx.add(length(bi), -1), s) : s;
        }

        /** {@code body} for each batch entry whose sequence has step s; the others get {@code otherwise} (may be null). */
        Stmt perEntry(Expr s, Function<Expr, Stmt> body, Function<Expr, Stmt> otherwise) {
            return loop("b", batch, ForKind.SERIAL, bi -> {
                Stmt run = body.apply(bi);
                if (b.lens == null) return run;
                return new Stmt.IfThenElse(Exprs.lt(s, length(bi)), run, otherwise == null ? null : otherwise.apply(bi));
            });
        }

        Stmt step(int d, Expr s) {
            List<Stmt> phases = new ArrayList<>();
            List<int[]> segments = cell.segments();
            int firstCols = segments.size() > 1 ? cell.packedGateStart(2, panel) : packed;
            phases.add(perEntry(s, bi -> matvec(hs, Idx.mul(bi, h), d, 0, firstCols, bi), null));
            if (segments.size() > 1) {
                // GRU: r = f(x_r + biases + h R_r^T), then (r * h) R_h^T.
                phases.add(perEntry(s, bi -> loop("j", h, ForKind.SERIAL, j -> {
                    Expr r = activation(d, 0, clip(gateSum(d, s, bi, 1, j, true)));
                    Expr at = Exprs.add(Idx.mul(bi, h), j);
                    return new Stmt.Store(rh, at, Exprs.mul(r, new Expr.Load(hs, at)));
                }), null));
                int start = cell.packedGateStart(2, panel);
                phases.add(perEntry(s, bi -> matvec(rh, Idx.mul(bi, h), d, start, packed - start, bi), null));
            }
            phases.add(perEntry(s, bi -> loop("j", h, ForKind.SERIAL, j -> gates(d, s, bi, j)), bi -> loop("j", h, ForKind.SERIAL,
                    j -> store(b.y, yIndex(d, s, bi, j), lit(0)))));
            return new Stmt.Seq(phases);
        }

        /** Y's index of hidden unit j at step s for batch entry bi: {@code [T, D, B, H]} at the step's time. */
        Expr yIndex(int d, Expr time, Expr bi, Expr j) {
            return Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(time, cell.directions()), Idx.c(d)), batch), bi), h), j);
        }

        /**
         * Gate g's sum for hidden unit j before its activation: the projected input, W's bias,
         * and (with {@code recurrent}) R's bias and the product with the previous state.
         */
        Expr gateSum(int d, Expr s, Expr bi, int g, Expr j, boolean recurrent) {
            Expr time = time(d, s, bi);
            Expr col = Idx.add(j, (long) g * h);
            Expr row = Exprs.add(Idx.mul(Exprs.add(Idx.mul(Exprs.add(Idx.mul(Idx.c(d), steps), time), batch), bi), gh), col);
            Expr v = load(b.xw, row);
            if (b.bias != null) v = Exprs.add(v, load(b.bias, Idx.add(col, (long) d * 2 * gh)));
            if (recurrent) {
                if (b.bias != null) v = Exprs.add(v, load(b.bias, Idx.add(col, (long) d * 2 * gh + gh)));
                v = Exprs.add(v, recurrentSum(bi, g, j));
            }
            return v;
        }

        /** The product of gate g's R rows with the step's vector, for hidden unit j. */
        Expr recurrentSum(Expr bi, int g, Expr j) {
            return new Expr.Load(pre, Exprs.add(Idx.mul(bi, packed), Idx.add(j, cell.packedGateStart(g, panel))));
        }

        Expr clip(Expr v) {
            if (!cell.clips()) return v;
            return Exprs.max(Exprs.min(v, lit(cell.clip())), lit(-cell.clip()));
        }

        Expr activation(int d, int k, Expr x) {
            RnnCell.Activation a = cell.activation(d, k);
            Expr alpha = lit(a.alpha()), beta = lit(a.beta());
            return switch (a.name()) {
                case "Relu" -> Exprs.max(x, lit(0));
                case "Tanh" -> Exprs.call(Intrinsic.TANH, x);
                case "Sigmoid" -> Exprs.call(Intrinsic.SIGMOID, x);
                case "Affine" -> Exprs.add(Exprs.mul(alpha, x), beta);
                case "LeakyRelu" -> Exprs.select(Exprs.ge(x, lit(0)), x, Exprs.mul(alpha, x));
                case "ThresholdedRelu" -> Exprs.select(Idx.cmp(CmpOp.GT, x, alpha), x, lit(0));
                case "ScaledTanh" -> Exprs.mul(alpha, Exprs.call(Intrinsic.TANH, Exprs.mul(beta, x)));
                case "HardSigmoid" -> Exprs.max(Exprs.min(Exprs.add(Exprs.mul(alpha, x), beta), lit(1)), lit(0));
                case "Elu" -> Exprs.select(Exprs.ge(x, lit(0)), x, Exprs.mul(alpha, Exprs.sub(Exprs.call(Intrinsic.EXP, x), lit(1))));
                case "Softsign" -> Exprs.div(x, Exprs.add(lit(1), Exprs.call(Intrinsic.ABS, x)));
                case "Softplus" -> Exprs.select(Idx.cmp(CmpOp.GT, x, lit(30)), x,
                        Exprs.call(Intrinsic.LOG, Exprs.add(lit(1), Exprs.call(Intrinsic.EXP, x))));
                default -> throw new IllegalStateException(a.name());
            };
        }

        /** The new state of hidden unit j (and its cell), written to the state and to Y. */
        Stmt gates(int d, Expr s, Expr bi, Expr j) {
            Expr si = Exprs.add(Idx.mul(bi, h), j);
            Expr yAt = yIndex(d, time(d, s, bi), bi, j);
            return switch (cell.kind()) {
                case RNN -> hidden(si, yAt, activation(d, 0, clip(gateSum(d, s, bi, 0, j, true))), null);
                case GRU -> {
                    Expr z = activation(d, 0, clip(gateSum(d, s, bi, 0, j, true)));
                    Expr cand;
                    if (cell.linearBeforeReset()) {
                        Expr r = activation(d, 0, clip(gateSum(d, s, bi, 1, j, true)));
                        Expr rec = recurrentSum(bi, 2, j);
                        if (b.bias != null) rec = Exprs.add(rec, load(b.bias, Idx.add(j, (long) d * 2 * gh + gh + 2L * h)));
                        cand = Exprs.add(gateSum(d, s, bi, 2, j, false), Exprs.mul(r, rec));
                    } else {
                        cand = gateSum(d, s, bi, 2, j, true);
                    }
                    Expr.Var zv = value("z");
                    Expr hNew = Exprs.add(Exprs.mul(Exprs.sub(lit(1), zv), activation(d, 1, clip(cand))), Exprs.mul(zv, new Expr.Load(hs, si)));
                    yield new Stmt.LetStmt(zv, z, hidden(si, yAt, hNew, null));
                }
                case LSTM -> {
                    Expr cPrev = new Expr.Load(cs, si);
                    Expr pi = peephole(d, 0, j), po = peephole(d, 1, j), pf = peephole(d, 2, j);
                    Expr.Var iv = value("ig"), cv = value("c");
                    Expr ig = activation(d, 0, clip(withPeephole(gateSum(d, s, bi, 0, j, true), pi, cPrev)));
                    Expr fg = cell.inputForget() ? Exprs.sub(lit(1), iv)
                            : activation(d, 0, clip(withPeephole(gateSum(d, s, bi, 2, j, true), pf, cPrev)));
                    Expr cand = activation(d, 1, clip(gateSum(d, s, bi, 3, j, true)));
                    Expr c = Exprs.add(Exprs.mul(fg, cPrev), Exprs.mul(iv, cand));
                    Expr og = activation(d, 0, clip(withPeephole(gateSum(d, s, bi, 1, j, true), po, cv)));
                    yield new Stmt.LetStmt(iv, ig, new Stmt.LetStmt(cv, c,
                            hidden(si, yAt, Exprs.mul(og, activation(d, 2, cv)), new Stmt.Store(cs, si, cv))));
                }
            };
        }

        /** {@code h = next}, stored to the state and to Y (after {@code first}, when given). */
        Stmt hidden(Expr si, Expr yAt, Expr next, Stmt first) {
            Expr.Var hv = value("h");
            List<Stmt> st = new ArrayList<>();
            if (first != null) st.add(first);
            st.add(new Stmt.Store(hs, si, hv));
            st.add(store(b.y, yAt, hv));
            return new Stmt.LetStmt(hv, next, new Stmt.Seq(st));
        }

        Expr peephole(int d, int k, Expr j) {
            return b.p == null ? null : load(b.p, Idx.add(j, (long) d * 3 * h + (long) k * h));
        }

        static Expr withPeephole(Expr sum, Expr p, Expr c) {
            return p == null ? sum : Exprs.add(sum, Exprs.mul(p, c));
        }

        /**
         * {@code pre[bi, col0 + j] = sum_k vec[vecBase + k] * R[d, col0 + j, k]} for j in
         * [0, cols), a whole number of panels from col0 (a panel's first column): each panel's
         * columns accumulate in registers while k runs, and R is read in the order it is stored.
         */
        Stmt matvec(Buffer vec, Expr vecBase, int d, int col0, int cols, Expr bi) {
            int panels = cols / panel, first = col0 / panel;
            return panels == 1 ? chunk(vec, vecBase, d, Idx.c(first), bi)
                    : loop("p", panels, ForKind.SERIAL, p -> chunk(vec, vecBase, d, Idx.add(p, first), bi));
        }

        /** The columns of panel p, accumulated in registers over k. */
        Stmt chunk(Buffer vec, Expr vecBase, int d, Expr p, Expr bi) {
            int v = lanes, u = panel / v;
            Buffer accBuf = new Buffer(var("acc").name(), acc, panel);
            ForKind vk = v > 1 ? ForKind.VECTORIZED : ForKind.SERIAL;
            ForKind uk = u > 1 ? ForKind.UNROLLED : ForKind.SERIAL;
            Function<Function<Expr, Stmt>, Stmt> lanesOf = f -> loop("u", u, uk, uu -> loop("v", v, vk, vv -> f.apply(Exprs.add(Idx.mul(uu, v), vv))));
            Expr panelBase = Idx.mul(Exprs.add(Idx.mul(Idx.c(d), packed / panel), p), (long) h * panel);
            Stmt zero = lanesOf.apply(l -> new Stmt.Store(accBuf, l, lit(0)));
            Stmt fma = loop("k", h, ForKind.SERIAL, k -> lanesOf.apply(l -> new Stmt.Store(accBuf, l, Exprs.add(new Expr.Load(accBuf, l),
                    Exprs.mul(new Expr.Load(vec, Exprs.add(vecBase, k)), load(b.rt, Exprs.add(Exprs.add(panelBase, Idx.mul(k, panel)), l)))))));
            Stmt write = lanesOf.apply(l -> new Stmt.Store(pre, Exprs.add(Exprs.add(Idx.mul(bi, packed), Idx.mul(p, panel)), l), new Expr.Load(accBuf, l)));
            return new Stmt.Allocate(accBuf, new Stmt.Seq(List.of(zero, fma, write)));
        }
    }
}
