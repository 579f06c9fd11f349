package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.ops.Bf16Conv;
import dev.kiln.irhigh.ops.Blocked;
import java.util.List;

/**
 * {@code --precision bf16}, after {@link BlockLayout}: each dense 2-D {@code kiln.ConvNCHWc} whose input
 * and output channels fill whole blocks of {@code block} (so channel pairs never straddle a block),
 * with a float32 constant weight and no dilation, becomes {@link Bf16Conv}. The others (an image's
 * first conv over 3 channels, depthwise and grouped convs) stay float32.
 */
public final class ConvsToBf16 {
    private ConvsToBf16() {}

    /** Rewrites every such conv; returns how many. The graph must have been through shape inference. */
    public static int run(Graph g, int block) {
        return Rewrites.replaceEach(g, n -> takes(g, n, block)
                ? List.of(new Node(n.name(), Bf16Conv.OP, Bf16Conv.DOMAIN, n.inputs(), n.outputs(), n.attrs(), n.opset())) : null);
    }

    private static boolean takes(Graph g, Node n, int block) {
        if (!"Conv".equals(Blocked.inner(n)) || n.attrInt("group", 1) != 1 || block % 2 != 0) return false;
        Tensor w = g.initializers().get(n.input(1));
        if (w == null || w.dtype() != DType.FLOAT32 || w.shape().rank() != 4) return false;
        if (w.shape().dim(0) % block != 0 || w.shape().dim(1) % block != 0) return false;
        int[] x = g.value(n.input(0)).shape().dims(), y = g.value(n.output(0)).shape().dims();
        if (x.length != 5 || y.length != 5 || x[4] != block || y[4] != block) return false;
        if (n.hasInput(2) && !g.initializers().containsKey(n.input(2))) return false;
        Attr autoPad = n.attrs().get("auto_pad");
        if (autoPad instanceof Attr.Str s && !s.value().equals("NOTSET")) return false;
        for (long d : n.attrInts("dilations", new long[] {1, 1})) if (d != 1) return false;
        return true;
    }
}
