package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A 1-D Conv (audio front ends, sequence models) as the 2-D Conv of height 1 it equals:
 * Reshape {@code [N, C, L]} to {@code [N, C, 1, L]}, Conv with kernel {@code [1, K]} (weights
 * reshaped to {@code [M, C/group, 1, K]}, strides, dilations and pads likewise), Reshape the
 * result back to {@code [N, M, L']}. The 2-D conv then gets what 2-D convs get on a CPU: the
 * blocked layout and its register-tiled template, vectorized over output channels, where a
 * 1-D conv's own template vectorizes over output positions (a strided gather when the stride
 * is large). A row whose length has no divisor from 6 to 14 is computed a few columns longer
 * (zeros padded at the end) and cut back with a Slice, so that it tiles into registers.
 * Applies to Convs with constant weights; the graph must have been through shape
 * inference, and shapes are inferred again afterwards by the caller.
 */
public final class Conv1dAs2d {
    private Conv1dAs2d() {}

    /** Rewrites every eligible 1-D Conv; returns how many. */
    public static int run(Graph g) {
        return Rewrites.replaceEach(g, n -> eligible(n, g) ? rewrite(n, g) : null);
    }

    private static boolean eligible(Node n, Graph g) {
        if (!n.op().equals("Conv") || !OpRegistry.isOnnxDomain(n.domain()) || n.outputs().size() != 1) return false;
        if (!g.values().containsKey(n.input(0)) || !g.values().containsKey(n.output(0))) return false;
        if (!g.initializers().containsKey(n.input(1))) return false;
        return g.value(n.input(0)).shape().rank() == 3 && g.initializers().get(n.input(1)).shape().rank() == 3;
    }

    private static List<Node> rewrite(Node n, Graph g) {
        Shape xs = g.value(n.input(0)).shape(), ys = g.value(n.output(0)).shape();
        Tensor w = g.initializers().get(n.input(1));
        String x4 = Rewrites.fresh(g, n.output(0) + "_x2d"), y4 = Rewrites.fresh(g, n.output(0) + "_y2d");
        String w4 = Rewrites.fresh(g, n.input(1) + "_2d");
        g.initializers().put(w4, w.reshape(new Shape(w.shape().dim(0), w.shape().dim(1), 1, w.shape().dim(2))));
        Map<String, Attr> attrs = new LinkedHashMap<>();
        for (var e : n.attrs().entrySet()) {
            attrs.put(e.getKey(), switch (e.getKey()) {
                case "kernel_shape", "strides", "dilations" -> new Attr.Ints(new long[] {1, ((Attr.Ints) e.getValue()).values()[0]});
                case "pads" -> {
                    long[] p = ((Attr.Ints) e.getValue()).values();
                    yield new Attr.Ints(new long[] {0, p[0], 0, p[1]});
                }
                default -> e.getValue();
            });
        }
        long length = ys.dim(2), padded = paddedLength(length);
        boolean explicit = n.attrString("auto_pad", "NOTSET").equals("NOTSET");
        if (padded != length && explicit) {
            // More outputs from zeros past the end, cut off again after the conv.
            long[] p = attrs.containsKey("pads") ? ((Attr.Ints) attrs.get("pads")).values().clone() : new long[4];
            p[3] += (padded - length) * n.attrInts("strides", new long[] {1})[0];
            attrs.put("pads", new Attr.Ints(p));
        } else {
            padded = length;
        }
        List<String> convIn = new ArrayList<>(List.of(x4, w4));
        if (n.hasInput(2)) convIn.add(n.input(2));
        List<Node> r = new ArrayList<>();
        r.add(Rewrites.reshape(g, n.name() + "/to_2d", n.input(0), new long[] {xs.dim(0), xs.dim(1), 1, xs.dim(2)}, x4));
        r.add(new Node(n.name(), "Conv", "", convIn, List.of(y4), attrs, Math.max(Rewrites.OPSET, n.opset())));
        long[] flat = {ys.dim(0), ys.dim(1), padded};
        if (padded == length) {
            r.add(Rewrites.reshape(g, n.name() + "/to_1d", y4, flat, n.output(0)));
            return r;
        }
        String y3 = Rewrites.fresh(g, n.output(0) + "_padded");
        r.add(Rewrites.reshape(g, n.name() + "/to_1d", y4, flat, y3));
        r.add(new Node(n.name() + "/cut", "Slice", "", List.of(y3, Rewrites.constant(g, n.name() + "_cut_starts", Rewrites.longs(new long[] {0})),
                Rewrites.constant(g, n.name() + "_cut_ends", Rewrites.longs(new long[] {length})),
                Rewrites.constant(g, n.name() + "_cut_axes", Rewrites.longs(new long[] {2}))), List.of(n.output(0)), Map.of(), Rewrites.OPSET));
        return r;
    }

    /**
     * The output length to compute: {@code length} itself when it is short or has a divisor from 6
     * to 14 (a register tile of that many columns), else the next length that has one. The conv
     * templates tile the row by divisors, so a prime length such as 97 (an STFT of 16000 samples,
     * hop 160) would run one column at a time, one FMA chain, latency-bound.
     */
    static long paddedLength(long length) {
        if (length <= 14) return length;
        for (long l = length; ; l++)
            for (long d = 6; d <= 14; d++) if (l % d == 0) return l;
    }

}
