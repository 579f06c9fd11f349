package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * LSTM, GRU and RNN (every attribute of the spec: directions, activations with alpha and beta,
 * clip, sequence_lens, both layouts, initial states, peepholes, linear_before_reset,
 * input_forget), and {@code kiln.Recurrence}: the recurrent part alone, which the graph pass
 * {@code SplitRecurrent} leaves after taking the input projection out as one MatMul over every
 * step.
 *
 * <p>{@code kiln.Recurrence} inputs: {@code XW [D, T*B, G*H]} (the input projection, without
 * biases), {@code RP [D, P, H, C]} (R packed in P panels of C columns: element
 * {@code [d, p, k, c]} is R's {@code [d, j, k]} for the packed column {@code p*C + c} of j, see
 * {@link RnnCell#packedColumn}), then B, sequence_lens, initial_h, initial_c
 * and P as in LSTM (omitted: ""), all in layout 0; attributes {@code cell} (LSTM, GRU, RNN),
 * {@code batch_size}, and the recurrent op's own. Outputs Y {@code [T, D, B, H]}, Y_h and (LSTM)
 * Y_c {@code [D, B, H]}, all present.
 *
 * <p>Steps past a batch entry's sequence length leave Y zero and the state as it was; a reverse
 * direction runs from that entry's last valid step back to the first, as ONNX Runtime does.
 */
final class Recurrent implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        RnnCell cell = RnnCell.of(n);
        boolean split = n.domain().equals(RnnCell.DOMAIN);
        boolean lstm = cell.kind() == RnnCell.Kind.LSTM;
        Ops.requireInputs(n, 2, lstm ? 8 : 6);
        Ops.requireOutputs(n, split ? (lstm ? 3 : 2) : 0, lstm ? 3 : 2);
        int d = cell.directions(), h = cell.hidden(), gh = cell.gates() * h;
        Value x = Ops.required(n, inputs, 0, split ? "XW" : "X");
        Ops.requireFloat(n, x, 0, "X");
        Ops.requireRank(n, x, 0, "X", 3);
        DType t = x.dtype();
        int steps, batch;
        boolean batchFirst = !split && n.attrInt("layout", 0) == 1;
        if (split) {
            batch = (int) n.attrInt("batch_size", -1);
            expect(n, x, 0, "XW", t, d, -1, gh);
            if (batch < 1 || x.shape().dim(1) % batch != 0)
                throw n.error("has batch_size " + batch + ", which does not divide XW's " + x.shape().dim(1) + " rows");
            steps = x.shape().dim(1) / batch;
            Value rp = Ops.required(n, inputs, 1, "RP");
            expect(n, rp, 1, "RP", t, d, -1, h, -1);
            int panel = rp.shape().dim(3);
            if (panel < 1 || rp.shape().dim(1) * panel != cell.packedColumns(panel))
                throw n.error(Ops.in(n, 1, "RP") + " has shape " + rp.shape() + ", which is not R packed in panels of " + panel
                        + " columns (" + cell.packedColumns(Math.max(panel, 1)) + " columns with padding)");
        } else {
            steps = x.shape().dim(batchFirst ? 1 : 0);
            batch = x.shape().dim(batchFirst ? 0 : 1);
            int in = x.shape().dim(2);
            expect(n, Ops.required(n, inputs, 1, "W"), 1, "W", t, d, gh, in);
            expect(n, Ops.required(n, inputs, 2, "R"), 2, "R", t, d, gh, h);
        }
        int base = split ? 2 : 3;
        Value b = Ops.optional(inputs, base);
        if (b != null) expect(n, b, base, "B", t, d, 2 * gh);
        Value lens = Ops.optional(inputs, base + 1);
        if (lens != null) {
            if (lens.dtype() != DType.INT32) throw n.error(Ops.in(n, base + 1, "sequence_lens") + " must be int32, got " + Ops.type(lens));
            Ops.requireRank(n, lens, base + 1, "sequence_lens", 1);
            if (lens.shape().dim(0) != batch)
                throw n.error(Ops.in(n, base + 1, "sequence_lens") + " has " + lens.shape().dim(0) + " entries for a batch of " + batch);
        }
        for (int k = 0; k < (lstm ? 2 : 1); k++) {
            Value s = Ops.optional(inputs, base + 2 + k);
            String role = k == 0 ? "initial_h" : "initial_c";
            if (s == null) continue;
            if (batchFirst) expect(n, s, base + 2 + k, role, t, batch, d, h);
            else expect(n, s, base + 2 + k, role, t, d, batch, h);
        }
        if (lstm) {
            Value p = Ops.optional(inputs, base + 4);
            if (p != null) expect(n, p, base + 4, "P", t, d, 3 * h);
        }
        List<Value> out = new ArrayList<>();
        Shape y = batchFirst ? new Shape(batch, steps, d, h) : new Shape(steps, d, batch, h);
        Shape state = batchFirst ? new Shape(batch, d, h) : new Shape(d, batch, h);
        for (int i = 0; i < n.outputs().size(); i++) {
            if (n.output(i).isEmpty()) out.add(null);
            else out.add(Ops.out(n, i, t, i == 0 ? y : state));
        }
        return out;
    }

    /** Checks that input i has dtype t and the given dims (-1: any). */
    private static void expect(Node n, Value v, int i, String role, DType t, int... dims) {
        if (v.dtype() != t) throw n.error(Ops.in(n, i, role) + " has dtype " + Ops.type(v) + " but X has " + t.numpyName);
        boolean ok = v.shape().rank() == dims.length;
        for (int k = 0; ok && k < dims.length; k++) ok = dims[k] < 0 || v.shape().dim(k) == dims[k];
        if (!ok) {
            StringBuilder want = new StringBuilder("[");
            for (int k = 0; k < dims.length; k++) want.append(k > 0 ? ", " : "").append(dims[k] < 0 ? "?" : String.valueOf(dims[k]));
            throw n.error(Ops.in(n, i, role) + " has shape " + v.shape() + " but " + n.op() + " needs " + want + "]");
        }
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        RnnCell cell = RnnCell.of(n);
        boolean split = n.domain().equals(RnnCell.DOMAIN);
        int d = cell.directions(), h = cell.hidden(), gh = cell.gates() * h;
        Tensor x = inputs.get(0);
        int steps, batch;
        double[] xw;
        Weights r;
        boolean batchFirst = !split && n.attrInt("layout", 0) == 1;
        if (split) {
            batch = (int) n.attrInt("batch_size", 1);
            steps = x.shape().dim(1) / batch;
            xw = TensorData.toDoubles(x);
            double[] rp = TensorData.toDoubles(inputs.get(1));
            int panels = inputs.get(1).shape().dim(1), panel = inputs.get(1).shape().dim(3);
            r = (dir, j, k) -> {
                int col = cell.packedColumn(j, panel);
                return rp[((dir * panels + col / panel) * h + k) * panel + col % panel];
            };
        } else {
            steps = x.shape().dim(batchFirst ? 1 : 0);
            batch = x.shape().dim(batchFirst ? 0 : 1);
            int in = x.shape().dim(2), tb = steps * batch;
            double[] xs = TensorData.toDoubles(x), w = TensorData.toDoubles(inputs.get(1)), rr = TensorData.toDoubles(inputs.get(2));
            xw = new double[d * tb * gh];
            for (int dir = 0; dir < d; dir++)
                for (int t = 0; t < steps; t++)
                    for (int b = 0; b < batch; b++) {
                        int row = batchFirst ? b * steps + t : t * batch + b;
                        for (int j = 0; j < gh; j++) {
                            double s = 0;
                            for (int i = 0; i < in; i++) s += xs[row * in + i] * w[(dir * gh + j) * in + i];
                            xw[(dir * tb + t * batch + b) * gh + j] = s;
                        }
                    }
            r = (dir, j, k) -> rr[(dir * gh + j) * h + k];
        }
        int base = split ? 2 : 3;
        double[] bias = doubles(inputs, base);
        long[] lens = base + 1 < inputs.size() && inputs.get(base + 1) != null ? inputs.get(base + 1).toLongArray() : null;
        double[] h0 = stateLayout0(doubles(inputs, base + 2), batchFirst, d, batch, h);
        double[] c0 = stateLayout0(doubles(inputs, base + 3), batchFirst, d, batch, h);
        double[] p = cell.kind() == RnnCell.Kind.LSTM ? doubles(inputs, base + 4) : null;
        double[][] res = run(cell, steps, batch, xw, r, bias, lens, h0, c0, p);
        List<Tensor> out = new ArrayList<>();
        DType t = x.dtype();
        for (int i = 0; i < n.outputs().size(); i++) {
            if (n.output(i).isEmpty()) {
                out.add(null);
                continue;
            }
            double[] v = res[i];
            Shape s = types.get(i).shape();
            if (batchFirst) v = i == 0 ? batchFirstY(v, steps, d, batch, h) : batchFirstState(v, d, batch, h);
            out.add(TensorData.fromDoubles(t, s, v));
        }
        return out;
    }

    private static double[] doubles(List<Tensor> inputs, int i) {
        return i < inputs.size() && inputs.get(i) != null ? TensorData.toDoubles(inputs.get(i)) : null;
    }

    /** A state given as [B, D, H] (layout 1) as [D, B, H]. */
    private static double[] stateLayout0(double[] s, boolean batchFirst, int d, int batch, int h) {
        if (s == null || !batchFirst) return s;
        double[] r = new double[s.length];
        for (int b = 0; b < batch; b++)
            for (int dir = 0; dir < d; dir++) System.arraycopy(s, (b * d + dir) * h, r, (dir * batch + b) * h, h);
        return r;
    }

    private static double[] batchFirstState(double[] s, int d, int batch, int h) {
        double[] r = new double[s.length];
        for (int b = 0; b < batch; b++)
            for (int dir = 0; dir < d; dir++) System.arraycopy(s, (dir * batch + b) * h, r, (b * d + dir) * h, h);
        return r;
    }

    private static double[] batchFirstY(double[] y, int steps, int d, int batch, int h) {
        double[] r = new double[y.length];
        for (int t = 0; t < steps; t++)
            for (int dir = 0; dir < d; dir++)
                for (int b = 0; b < batch; b++) System.arraycopy(y, ((t * d + dir) * batch + b) * h, r, ((b * steps + t) * d + dir) * h, h);
        return r;
    }

    /** Element (j, k) of direction d's recurrence weights R {@code [G*H, H]}. */
    interface Weights {
        double at(int d, int j, int k);
    }

    /**
     * The recurrence over projected inputs {@code xw [D][T][B][G*H]}: returns Y {@code [T][D][B][H]},
     * Y_h and Y_c {@code [D][B][H]}. bias {@code [D][2*G*H]}, lens, h0, c0 {@code [D][B][H]} and
     * p {@code [D][3*H]} may be null.
     */
    static double[][] run(RnnCell cell, int steps, int batch, double[] xw, Weights r, double[] bias, long[] lens,
                          double[] h0, double[] c0, double[] p) {
        int d = cell.directions(), h = cell.hidden(), g = cell.gates(), gh = g * h;
        double[] y = new double[steps * d * batch * h], yh = new double[d * batch * h], yc = new double[d * batch * h];
        for (int dir = 0; dir < d; dir++) {
            RnnCell.Activation f = cell.activation(dir, 0), gAct = g > 1 ? cell.activation(dir, 1) : null;
            RnnCell.Activation hAct = cell.kind() == RnnCell.Kind.LSTM ? cell.activation(dir, 2) : null;
            for (int b = 0; b < batch; b++) {
                int len = lens != null ? (int) Math.max(0, Math.min(steps, lens[b])) : steps;
                int st = (dir * batch + b) * h;
                double[] hs = new double[h], cs = new double[h], pre = new double[gh];
                if (h0 != null) System.arraycopy(h0, st, hs, 0, h);
                if (c0 != null) System.arraycopy(c0, st, cs, 0, h);
                for (int s = 0; s < len; s++) {
                    int t = cell.reversed(dir) ? len - 1 - s : s;
                    int row = ((dir * steps + t) * batch + b) * gh;
                    for (int j = 0; j < gh; j++) {
                        double v = xw[row + j];
                        if (bias != null) v += bias[dir * 2 * gh + j];
                        boolean recurrentLater = cell.kind() == RnnCell.Kind.GRU && j >= 2 * h;
                        if (!recurrentLater) {
                            if (bias != null) v += bias[dir * 2 * gh + gh + j];
                            for (int k = 0; k < h; k++) v += hs[k] * r.at(dir, j, k);
                        }
                        pre[j] = v;
                    }
                    double[] next = new double[h];
                    switch (cell.kind()) {
                        case RNN -> {
                            for (int j = 0; j < h; j++) next[j] = f.apply(clip(cell, pre[j]));
                        }
                        case GRU -> {
                            double[] z = new double[h], rg = new double[h];
                            for (int j = 0; j < h; j++) {
                                z[j] = f.apply(clip(cell, pre[j]));
                                rg[j] = f.apply(clip(cell, pre[h + j]));
                            }
                            for (int j = 0; j < h; j++) {
                                double rb = bias != null ? bias[dir * 2 * gh + gh + 2 * h + j] : 0, acc = 0;
                                if (cell.linearBeforeReset()) {
                                    for (int k = 0; k < h; k++) acc += hs[k] * r.at(dir, 2 * h + j, k);
                                    acc = rg[j] * (acc + rb);
                                } else {
                                    for (int k = 0; k < h; k++) acc += rg[k] * hs[k] * r.at(dir, 2 * h + j, k);
                                    acc += rb;
                                }
                                double cand = gAct.apply(clip(cell, pre[2 * h + j] + acc));
                                next[j] = (1 - z[j]) * cand + z[j] * hs[j];
                            }
                        }
                        case LSTM -> {
                            for (int j = 0; j < h; j++) {
                                double pi = p != null ? p[dir * 3 * h + j] : 0, po = p != null ? p[dir * 3 * h + h + j] : 0;
                                double pf = p != null ? p[dir * 3 * h + 2 * h + j] : 0;
                                double ig = f.apply(clip(cell, pre[j] + pi * cs[j]));
                                double fg = cell.inputForget() ? 1 - ig : f.apply(clip(cell, pre[2 * h + j] + pf * cs[j]));
                                double cand = gAct.apply(clip(cell, pre[3 * h + j]));
                                cs[j] = fg * cs[j] + ig * cand;
                                double og = f.apply(clip(cell, pre[h + j] + po * cs[j]));
                                next[j] = og * hAct.apply(cs[j]);
                            }
                        }
                    }
                    hs = next;
                    System.arraycopy(hs, 0, y, ((t * d + dir) * batch + b) * h, h);
                }
                System.arraycopy(hs, 0, yh, st, h);
                System.arraycopy(cs, 0, yc, st, h);
            }
        }
        return new double[][] {y, yh, yc};
    }

    private static double clip(RnnCell cell, double v) {
        return cell.clips() ? Math.max(-cell.clip(), Math.min(cell.clip(), v)) : v;
    }
}
