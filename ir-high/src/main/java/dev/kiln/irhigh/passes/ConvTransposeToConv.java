package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.ConvTranspose;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rewrites a ConvTranspose with constant weights into a Conv, which runs on the register-tiled
 * (and blocked) conv templates instead of a gather that tests every tap of every output:
 *
 * <ul>
 *   <li>Kernel equal to stride, no padding, no dilation, one group (the 2x upsampling of
 *       segmentation and detection heads): every output pixel receives exactly one tap, so it
 *       is a 1x1 Conv to {@code M * k1 * k2...} channels (bias repeated per tap) whose channels
 *       are then moved into place: Reshape {@code [N, M, k1, k2, H, W]}, Transpose to
 *       {@code [N, M, H, k1, W, k2]}, Reshape {@code [N, M, H*k1, W*k2]}.
 *   <li>Anything else: the input with {@code stride - 1} zeros inserted after each element
 *       (Reshape to {@code [N, C, H, 1, W, 1]}, Pad the ones to the stride, Reshape back), then a
 *       stride-1 Conv with the flipped kernel, weights transposed per group to
 *       {@code [M, C/group, k...]}, the same dilation, padding {@code (k-1)*dilation - pad} at
 *       the beginning and whatever gives the output size at the end (a Slice first where either
 *       is negative). The zeros cost {@code stride^2} times the multiply-adds, still far less
 *       than the gather.
 * </ul>
 * The graph must have been through shape inference; shapes are inferred again afterwards by the caller.
 */
public final class ConvTransposeToConv {
    private ConvTransposeToConv() {}

    /** Rewrites every eligible ConvTranspose; returns how many. */
    public static int run(Graph g) {
        return Rewrites.replaceEach(g, n -> eligible(n, g) ? rewrite(n, g) : null);
    }

    private static boolean eligible(Node n, Graph g) {
        if (!n.op().equals("ConvTranspose") || !OpRegistry.isOnnxDomain(n.domain())) return false;
        if (!g.initializers().containsKey(n.input(1))) return false;
        if (n.hasInput(2) && !g.initializers().containsKey(n.input(2))) return false;
        if (n.outputs().size() != 1 || !g.values().containsKey(n.input(0))) return false;
        DType t = g.value(n.input(0)).dtype();
        int rank = g.value(n.input(0)).shape().rank();
        return (t == DType.FLOAT32 || t == DType.FLOAT64) && rank >= 3 && rank <= 5;
    }

    private static List<Node> rewrite(Node n, Graph g) {
        Shape xs = g.value(n.input(0)).shape();
        Tensor w = g.initializers().get(n.input(1));
        ConvTranspose.Geometry geo = ConvTranspose.geometry(n, xs, w.shape());
        int sp = geo.rank(), group = (int) n.attrInt("group", 1);
        boolean oneTap = group == 1;
        for (int d = 0; d < sp; d++) {
            oneTap &= geo.kernel()[d] == geo.strides()[d] && geo.dilations()[d] == 1 && geo.padBegin()[d] == 0
                    && geo.out()[d] == geo.in()[d] * geo.strides()[d];
        }
        return oneTap ? asPointwise(n, g, xs, w, geo) : asZeroInserted(n, g, xs, w, geo, group);
    }

    /** The one-tap case: a 1x1 Conv to M * taps channels, then the taps moved into the spatial axes. */
    private static List<Node> asPointwise(Node n, Graph g, Shape xs, Tensor w, ConvTranspose.Geometry geo) {
        int sp = geo.rank(), c = w.shape().dim(0), m = w.shape().dim(1), taps = 1;
        for (int k : geo.kernel()) taps *= k;
        int[] wd = new int[sp + 2];
        wd[0] = m * taps;
        wd[1] = c;
        for (int d = 0; d < sp; d++) wd[d + 2] = 1;
        Tensor w2 = Tensor.zeros(w.dtype(), new Shape(wd));
        // W [c, m, taps] -> W' [m * taps, c]: output channel (mo, tap) reads input channel ci through W[ci, mo, tap].
        for (int ci = 0; ci < c; ci++)
            for (int mo = 0; mo < m; mo++)
                for (int k = 0; k < taps; k++) w2.setDouble((mo * taps + k) * c + ci, w.getDouble((ci * m + mo) * taps + k));
        List<String> convIn = new ArrayList<>(List.of(n.input(0), Rewrites.constant(g, n.input(1) + "_pointwise", w2)));
        if (n.hasInput(2)) {
            Tensor b = g.initializers().get(n.input(2));
            Tensor b2 = Tensor.zeros(b.dtype(), new Shape(m * taps));
            for (int i = 0; i < m * taps; i++) b2.setDouble(i, b.getDouble(i / taps));
            convIn.add(Rewrites.constant(g, n.input(2) + "_pointwise", b2));
        }
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("kernel_shape", new Attr.Ints(ones(sp)));
        List<Node> r = new ArrayList<>();
        String conv = Rewrites.fresh(g, n.output(0) + "_taps");
        r.add(new Node(n.name() + "/pointwise", "Conv", "", convIn, List.of(conv), attrs, Rewrites.OPSET));
        // [N, M*taps, in...] -> [N, M, k..., in...] -> [N, M, in0, k0, in1, k1, ...] -> [N, M, out...]
        long[] split = new long[2 + 2 * sp], perm = new long[2 + 2 * sp], merged = new long[2 + sp];
        split[0] = xs.dim(0);
        split[1] = m;
        merged[0] = xs.dim(0);
        merged[1] = m;
        perm[0] = 0;
        perm[1] = 1;
        for (int d = 0; d < sp; d++) {
            split[2 + d] = geo.kernel()[d];
            split[2 + sp + d] = geo.in()[d];
            perm[2 + 2 * d] = 2 + sp + d;
            perm[3 + 2 * d] = 2 + d;
            merged[2 + d] = geo.out()[d];
        }
        String a = Rewrites.fresh(g, n.output(0) + "_split"), t = Rewrites.fresh(g, n.output(0) + "_interleaved");
        r.add(Rewrites.reshape(g, n.name() + "/split", conv, split, a));
        r.add(new Node(n.name() + "/interleave", "Transpose", "", List.of(a), List.of(t), Map.of("perm", new Attr.Ints(perm)), Rewrites.OPSET));
        r.add(Rewrites.reshape(g, n.name() + "/merge", t, merged, n.output(0)));
        return r;
    }

    /** The general case: zeros inserted between the input's elements, then a stride-1 Conv with the flipped kernel. */
    private static List<Node> asZeroInserted(Node n, Graph g, Shape xs, Tensor w, ConvTranspose.Geometry geo, int group) {
        int sp = geo.rank(), c = w.shape().dim(0), mg = w.shape().dim(1), cg = c / group, m = mg * group, taps = 1;
        for (int k : geo.kernel()) taps *= k;
        // W [c, mg, k...] -> W' [m, cg, k...] flipped: W'[gi*mg + mo, ci, t'] = W[gi*cg + ci, mo, k-1-t'].
        int[] wd = new int[sp + 2];
        wd[0] = m;
        wd[1] = cg;
        for (int d = 0; d < sp; d++) wd[d + 2] = geo.kernel()[d];
        Tensor w2 = Tensor.zeros(w.dtype(), new Shape(wd));
        for (int gi = 0; gi < group; gi++)
            for (int mo = 0; mo < mg; mo++)
                for (int ci = 0; ci < cg; ci++)
                    for (int k = 0; k < taps; k++)
                        w2.setDouble(((gi * mg + mo) * cg + ci) * taps + k, w.getDouble(((gi * cg + ci) * mg + mo) * taps + (taps - 1 - k)));
        List<Node> r = new ArrayList<>();
        String x = n.input(0);
        long[] len = new long[sp];
        boolean strided = false;
        for (int d = 0; d < sp; d++) {
            len[d] = (long) geo.in()[d] * geo.strides()[d];
            strided |= geo.strides()[d] > 1;
        }
        if (strided) {
            // [N, C, i0, i1..] -> [N, C, i0, 1, i1, 1, ..] -> padded with zeros to [N, C, i0, s0, i1, s1, ..] -> [N, C, i0*s0, ..]
            long[] spread = new long[2 + 2 * sp], pads = new long[2 * (2 + 2 * sp)], merged = new long[2 + sp];
            spread[0] = merged[0] = xs.dim(0);
            spread[1] = merged[1] = xs.dim(1);
            for (int d = 0; d < sp; d++) {
                spread[2 + 2 * d] = geo.in()[d];
                spread[3 + 2 * d] = 1;
                pads[(2 + 2 * sp) + 3 + 2 * d] = geo.strides()[d] - 1;
                merged[2 + d] = len[d];
            }
            String a = Rewrites.fresh(g, n.output(0) + "_spread"), p = Rewrites.fresh(g, n.output(0) + "_zeros"), u = Rewrites.fresh(g, n.output(0) + "_upsampled");
            r.add(Rewrites.reshape(g, n.name() + "/spread", x, spread, a));
            r.add(new Node(n.name() + "/insert_zeros", "Pad", "", List.of(a, Rewrites.constant(g, n.name() + "_zero_pads", Rewrites.longs(pads))),
                    List.of(p), Map.of(), Rewrites.OPSET));
            r.add(Rewrites.reshape(g, n.name() + "/upsample", p, merged, u));
            x = u;
        }
        long[] begin = new long[sp], end = new long[sp], cropBegin = new long[sp], cropEnd = new long[sp];
        boolean crop = false;
        for (int d = 0; d < sp; d++) {
            long reach = (long) (geo.kernel()[d] - 1) * geo.dilations()[d];
            begin[d] = reach - geo.padBegin()[d];
            end[d] = geo.out()[d] - len[d] + geo.padBegin()[d];
            cropBegin[d] = Math.max(0, -begin[d]);
            cropEnd[d] = len[d] - Math.max(0, -end[d]);
            crop |= begin[d] < 0 || end[d] < 0;
        }
        if (crop) {
            long[] axes = new long[sp];
            for (int d = 0; d < sp; d++) axes[d] = d + 2;
            String s = Rewrites.fresh(g, n.output(0) + "_cropped");
            r.add(new Node(n.name() + "/crop", "Slice", "", List.of(x, Rewrites.constant(g, n.name() + "_crop_starts", Rewrites.longs(cropBegin)),
                    Rewrites.constant(g, n.name() + "_crop_ends", Rewrites.longs(cropEnd)), Rewrites.constant(g, n.name() + "_crop_axes", Rewrites.longs(axes))),
                    List.of(s), Map.of(), Rewrites.OPSET));
            x = s;
        }
        long[] convPads = new long[2 * sp], dil = new long[sp], kernel = new long[sp];
        for (int d = 0; d < sp; d++) {
            convPads[d] = Math.max(0, begin[d]);
            convPads[d + sp] = Math.max(0, end[d]);
            dil[d] = geo.dilations()[d];
            kernel[d] = geo.kernel()[d];
        }
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("kernel_shape", new Attr.Ints(kernel));
        attrs.put("pads", new Attr.Ints(convPads));
        attrs.put("dilations", new Attr.Ints(dil));
        attrs.put("group", new Attr.Int(group));
        List<String> convIn = new ArrayList<>(List.of(x, Rewrites.constant(g, n.input(1) + "_flipped", w2)));
        if (n.hasInput(2)) convIn.add(n.input(2));
        r.add(new Node(n.name() + "/conv", "Conv", "", convIn, List.of(n.output(0)), attrs, Rewrites.OPSET));
        return r;
    }

    private static long[] ones(int n) {
        long[] r = new long[n];
        java.util.Arrays.fill(r, 1);
        return r;
    }

}
