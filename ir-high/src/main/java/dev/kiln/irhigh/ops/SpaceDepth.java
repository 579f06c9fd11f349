package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * DepthToSpace (modes DCR and CRD) and SpaceToDepth on NCHW with {@code blocksize} b: blocks of
 * b x b pixels move to or from b² channels.
 */
public final class SpaceDepth implements OpDef {
    private final boolean toSpace;

    private SpaceDepth(boolean toSpace) {
        this.toSpace = toSpace;
    }

    static final SpaceDepth DEPTH_TO_SPACE = new SpaceDepth(true), SPACE_TO_DEPTH = new SpaceDepth(false);

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        Ops.requireRank(n, x, 0, "input", 4);
        int b = Ops.intAttr(n, "blocksize", 0);
        Shape s = x.shape();
        if (b <= 0) throw n.error("attribute 'blocksize' must be positive");
        if (toSpace && s.dim(1) % (b * b) != 0) throw n.error("channels " + s.dim(1) + " are not a multiple of blocksize² " + b * b);
        if (!toSpace && (s.dim(2) % b != 0 || s.dim(3) % b != 0)) throw n.error("H and W of " + s + " are not multiples of blocksize " + b);
        Shape out = toSpace ? new Shape(s.dim(0), s.dim(1) / (b * b), s.dim(2) * b, s.dim(3) * b)
                : new Shape(s.dim(0), s.dim(1) * b * b, s.dim(2) / b, s.dim(3) / b);
        return List.of(Ops.out(n, 0, x.dtype(), out));
    }

    /** The input index (flat, NCHW) that output element (n, c, h, w) reads. */
    public static long source(boolean toSpace, boolean crd, long b, long[] in, long n, long c, long h, long w) {
        long C = in[1], H = in[2], W = in[3];
        if (toSpace) {
            long oc = toSpace && crd ? c * b * b + (h % b) * b + w % b : ((h % b) * b + w % b) * (C / (b * b)) + c;
            return ((n * C + oc) * H + h / b) * W + w / b;
        }
        long blk = c / C, ic = c % C;
        return ((n * C + ic) * H + h * b + blk / b) * W + w * b + blk % b;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        Tensor x = inputs.get(0);
        long b = n.attrInt("blocksize", 0);
        boolean crd = n.attrString("mode", "DCR").equals("CRD");
        long[] in = x.shape().longDims();
        Tensor r = Tensor.zeros(x.dtype(), out);
        int e = 0;
        for (long i = 0; i < out.dim(0); i++)
            for (long c = 0; c < out.dim(1); c++)
                for (long h = 0; h < out.dim(2); h++)
                    for (long w = 0; w < out.dim(3); w++, e++) {
                        int src = (int) source(toSpace, crd, b, in, i, c, h, w);
                        if (x.dtype().isFloat()) r.setDouble(e, x.getDouble(src));
                        else r.setLong(e, x.getLong(src));
                    }
        return List.of(r);
    }
}
