package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ops.OpRegistry;
import dev.kiln.irhigh.ops.RnnCell;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Splits each LSTM, GRU and RNN into the part that does not depend on the previous step and the
 * part that does. The input projection of every step and direction is one MatMul,
 * {@code [1, T*B, I] x W^T [D, I, G*H]}, which gets the matmul template (tiled, vectorized,
 * parallel, tunable); what is left, {@code kiln.Recurrence}, multiplies the previous hidden
 * state by R for all gates at once and applies the gates, step after step, reading R packed in
 * panels ({@link #packR}) so that a step streams through it from start to end. The packing of
 * constant weights folds at compile time; layout 1 ({@code [batch, seq, ...]}) becomes transposes around
 * the layout-0 recurrence. Runs on a graph after shape inference; the caller infers again.
 */
public final class SplitRecurrent {
    private SplitRecurrent() {}

    /**
     * Rewrites every recurrent node, R packed in panels of {@code panel} columns (the columns a
     * CPU kernel keeps in registers per step of its matrix-vector product; 1 for none); returns
     * how many.
     */
    public static int run(Graph g, int panel) {
        if (panel < 1) throw new IllegalArgumentException("panel " + panel);
        return Rewrites.replaceEach(g, n -> eligible(n, g) ? rewrite(n, g, panel) : null);
    }

    private static boolean eligible(Node n, Graph g) {
        if (!OpRegistry.isOnnxDomain(n.domain()) || !List.of("LSTM", "GRU", "RNN").contains(n.op())) return false;
        return g.values().containsKey(n.input(0)) && g.value(n.input(0)).shape().rank() == 3;
    }

    private static List<Node> rewrite(Node n, Graph g, int panel) {
        RnnCell cell = RnnCell.of(n);
        boolean lstm = cell.kind() == RnnCell.Kind.LSTM, batchFirst = n.attrInt("layout", 0) == 1;
        Shape xs = g.value(n.input(0)).shape();
        int steps = xs.dim(batchFirst ? 1 : 0), batch = xs.dim(batchFirst ? 0 : 1), in = xs.dim(2);
        String base = n.name().isEmpty() ? n.output(0) : n.name();
        List<Node> r = new ArrayList<>();
        String x = n.input(0);
        if (batchFirst) x = transpose(g, r, base + "/x_seq_first", x, 1, 0, 2);
        String rows = Rewrites.fresh(g, base + "_x_rows");
        r.add(Rewrites.reshape(g, base + "/x_rows", x, new long[] {1, (long) steps * batch, in}, rows));
        String wt = transpose(g, r, base + "/w_t", n.input(1), 0, 2, 1);
        String xw = Rewrites.fresh(g, base + "_xw");
        r.add(new Node(base + "/input_projection", "MatMul", "", List.of(rows, wt), List.of(xw), Map.of(), Rewrites.OPSET));
        String rp = packR(g, r, base, n.input(2), cell, panel);
        List<String> inputs = new ArrayList<>(List.of(xw, rp, n.input(3), n.input(4)));
        for (int k = 0; k < (lstm ? 2 : 1); k++) {
            String s = n.input(5 + k);
            inputs.add(batchFirst && !s.isEmpty() ? transpose(g, r, base + "/state" + k + "_dir_first", s, 1, 0, 2) : s);
        }
        if (lstm) inputs.add(n.input(7));
        Map<String, Attr> attrs = new LinkedHashMap<>(n.attrs());
        attrs.remove("layout");
        attrs.put("cell", new Attr.Str(n.op()));
        attrs.put("batch_size", new Attr.Int(batch));
        List<String> outs = new ArrayList<>(), finals = new ArrayList<>();
        for (int i = 0; i < (lstm ? 3 : 2); i++) {
            String o = i < n.outputs().size() ? n.output(i) : "";
            String tmp = o.isEmpty() || batchFirst ? Rewrites.fresh(g, base + "_out" + i) : o;
            outs.add(tmp);
            finals.add(o);
        }
        r.add(new Node(base, RnnCell.OP, RnnCell.DOMAIN, inputs, outs, attrs, 1));
        if (batchFirst) {
            for (int i = 0; i < outs.size(); i++) {
                if (finals.get(i).isEmpty()) continue;
                int[] perm = i == 0 ? new int[] {2, 0, 1, 3} : new int[] {1, 0, 2};
                r.add(transposeTo(base + "/out" + i + "_batch_first", outs.get(i), finals.get(i), perm));
            }
        }
        return r;
    }

    /**
     * R {@code [D, G*H, H]} packed as {@code [D, P, H, C]}: each segment of rows one step
     * multiplies by the same vector ({@link RnnCell#segments}) padded with zero rows to whole
     * panels of C, then each panel's C rows transposed so that one k of the panel is C
     * contiguous columns. A step then reads R from start to end. Constant weights fold.
     */
    private static String packR(Graph g, List<Node> r, String base, String weights, RnnCell cell, int panel) {
        int d = cell.directions(), h = cell.hidden();
        List<int[]> segments = cell.segments();
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < segments.size(); i++) {
            int[] seg = segments.get(i);
            String part = weights;
            String name = base + "/r_segment" + i;
            if (segments.size() > 1) {
                part = Rewrites.fresh(g, name.replace('/', '_'));
                r.add(new Node(name, "Slice", "", List.of(weights,
                        Rewrites.constant(g, name + "_starts", Rewrites.longs(new long[] {seg[0]})),
                        Rewrites.constant(g, name + "_ends", Rewrites.longs(new long[] {seg[0] + seg[1]})),
                        Rewrites.constant(g, name + "_axes", Rewrites.longs(new long[] {1}))), List.of(part), Map.of(), Rewrites.OPSET));
            }
            int pad = (seg[1] + panel - 1) / panel * panel - seg[1];
            if (pad > 0) {
                String padded = Rewrites.fresh(g, name.replace('/', '_') + "_padded");
                r.add(new Node(name + "_pad", "Pad", "", List.of(part,
                        Rewrites.constant(g, name + "_pads", Rewrites.longs(new long[] {0, 0, 0, 0, pad, 0}))), List.of(padded), Map.of(), Rewrites.OPSET));
                part = padded;
            }
            parts.add(part);
        }
        String all = parts.getFirst();
        if (parts.size() > 1) {
            all = Rewrites.fresh(g, base + "_r_padded");
            r.add(new Node(base + "/r_padded", "Concat", "", parts, List.of(all), Map.of("axis", new Attr.Int(1)), Rewrites.OPSET));
        }
        String panels = Rewrites.fresh(g, base + "_r_panels");
        r.add(Rewrites.reshape(g, base + "/r_panels", all, new long[] {d, cell.packedColumns(panel) / panel, panel, h}, panels));
        return transpose(g, r, base + "/r_packed", panels, 0, 1, 3, 2);
    }

    /** Adds a Transpose of {@code in} by {@code perm} to {@code r}; returns its output's name. */
    private static String transpose(Graph g, List<Node> r, String name, String in, int... perm) {
        String out = Rewrites.fresh(g, name.replace('/', '_'));
        r.add(transposeTo(name, in, out, perm));
        return out;
    }

    private static Node transposeTo(String name, String in, String out, int... perm) {
        long[] p = new long[perm.length];
        for (int i = 0; i < perm.length; i++) p[i] = perm[i];
        return new Node(name, "Transpose", "", List.of(in), List.of(out), Map.of("perm", new Attr.Ints(p)), Rewrites.OPSET);
    }
}
