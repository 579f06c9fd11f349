package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kiln's blocked channel layout NCHW[x]c (domain {@code kiln}, made by the BlockLayout pass): a
 * tensor {@code [N, C, spatial...]} is held as {@code [N, ceil(C/x), spatial..., x]}, channel c at
 * block c/x, lane c%x. x is 16, except that an input of fewer channels than that (an image) may be
 * held in one block of exactly its channels for the dense conv that reads it. Channels past C (when x does not divide C) are padding: ToBlocked writes
 * zeros there, every other op may leave anything in them, and no op mixes them into a real
 * channel (a blocked conv reduces over the {@code channels} real input channels only).
 *
 * <ul>
 *   <li>{@code ToBlocked(X) block=x}: NCHW to blocked.
 *   <li>{@code FromBlocked(Y) block=x channels=C}: blocked to NCHW, dropping the padding.
 *   <li>{@code ConvNCHWc}, {@code MaxPoolNCHWc}, {@code AveragePoolNCHWc},
 *       {@code GlobalAveragePoolNCHWc}, {@code GlobalMaxPoolNCHWc} (attrs of the ONNX op plus
 *       {@code block} and {@code channels}, the real channels of input 0): the ONNX op on a blocked
 *       input 0, with a blocked output. Other inputs (Conv's weights and bias) keep their ONNX form.
 * </ul>
 * Each is defined by its NCHW meaning: unblock, apply the ONNX op, block.
 */
public final class Blocked {
    private Blocked() {}

    public static final String DOMAIN = "kiln";
    public static final String TO = "ToBlocked", FROM = "FromBlocked", SUFFIX = "NCHWc";
    public static final String BLOCK = "block", CHANNELS = "channels";

    /** Whether {@code n} is one of these ops. */
    public static boolean is(Node n) {
        return n.domain().equals(DOMAIN) && (n.op().equals(TO) || n.op().equals(FROM) || n.op().endsWith(SUFFIX));
    }

    /** The ONNX op a blocked anchor ({@code ConvNCHWc}) wraps, or null. */
    public static String inner(Node n) {
        return n.domain().equals(DOMAIN) && n.op().endsWith(SUFFIX) ? n.op().substring(0, n.op().length() - SUFFIX.length()) : null;
    }

    static OpDef def(Node n) {
        if (n.op().equals(TO)) return new ToBlocked();
        if (n.op().equals(FROM)) return new FromBlocked();
        String inner = inner(n);
        if (inner != null && List.of("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool").contains(inner))
            return new Wrapped();
        return null;
    }

    /** {@code [N, C, sp...]} as blocked dims. */
    public static int[] blockedDims(Shape s, int block) {
        int[] d = s.dims(), out = new int[d.length + 1];
        out[0] = d[0];
        out[1] = Math.ceilDiv(d[1], block);
        System.arraycopy(d, 2, out, 2, d.length - 2);
        out[d.length] = block;
        return out;
    }

    /** Blocked dims as {@code [N, C, sp...]}. */
    public static int[] plainDims(Shape s, int channels) {
        int[] d = s.dims(), out = new int[d.length - 1];
        out[0] = d[0];
        out[1] = channels;
        System.arraycopy(d, 2, out, 2, d.length - 3);
        return out;
    }

    /** Re-lays out an NCHW tensor (float types) into blocks of {@code block} channels, padding with zeros. */
    public static Tensor block(Tensor t, int block) {
        int[] d = t.shape().dims();
        int n = d[0], c = d[1], cb = Math.ceilDiv(c, block);
        int inner = (int) Ops.product(d, 2, d.length);
        Shape out = new Shape(blockedDims(t.shape(), block));
        return Tensor.generate(t.dtype(), out, i -> {
            int lane = i % block, rest = i / block;
            int sp = rest % inner, q = rest / inner;
            int b = q % cb, batch = q / cb;
            int ch = b * block + lane;
            return ch < c ? t.getDouble((batch * c + ch) * inner + sp) : 0.0;
        });
    }

    /** The NCHW tensor of blocked {@code t} with {@code channels} real channels. */
    public static Tensor unblock(Tensor t, int channels) {
        int[] d = t.shape().dims();
        int block = d[d.length - 1], cb = d[1];
        int inner = (int) Ops.product(d, 2, d.length - 1);
        Shape out = new Shape(plainDims(t.shape(), channels));
        return Tensor.generate(t.dtype(), out, i -> {
            int sp = i % inner, q = i / inner;
            int ch = q % channels, batch = q / channels;
            return t.getDouble(((batch * cb + ch / block) * inner + sp) * block + ch % block);
        });
    }

    /** The block size of a node's output ({@code block} attribute, default 16). */
    private static int block(Node n) {
        int b = Ops.intAttr(n, BLOCK, 16);
        if (b < 1) throw n.error("attribute block must be positive, got " + b);
        return b;
    }

    private static int channels(Node n) {
        int c = Ops.intAttr(n, CHANNELS, -1);
        if (c < 1) throw n.error("needs a positive attribute channels (the real channel count), got " + c);
        return c;
    }

    private static void requireBlocked(Node n, Value x, int block, int channels) {
        int r = x.shape().rank();
        if (r < 3 || x.shape().dim(r - 1) != block || x.shape().dim(1) != Math.ceilDiv(channels, block))
            throw n.error(Ops.in(n, 0, "X") + " has shape " + x.shape() + ", not a blocked layout of " + channels
                    + " channels in blocks of " + block);
    }

    private static final class ToBlocked implements OpDef {
        @Override
        public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
            Ops.requireInputs(n, 1, 1);
            Value x = Ops.required(n, inputs, 0, "X");
            Ops.requireFloat(n, x, 0, "X");
            Ops.requireRankAtLeast(n, x, 0, "X", 2);
            return List.of(Ops.out(n, 0, x.dtype(), new Shape(blockedDims(x.shape(), block(n)))));
        }

        @Override
        public List<Tensor> eval(Node n, List<Tensor> inputs) {
            return List.of(block(inputs.get(0), block(n)));
        }
    }

    private static final class FromBlocked implements OpDef {
        @Override
        public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
            Ops.requireInputs(n, 1, 1);
            Value x = Ops.required(n, inputs, 0, "X");
            requireBlocked(n, x, block(n), channels(n));
            return List.of(Ops.out(n, 0, x.dtype(), new Shape(plainDims(x.shape(), channels(n)))));
        }

        @Override
        public List<Tensor> eval(Node n, List<Tensor> inputs) {
            return List.of(unblock(inputs.get(0), channels(n)));
        }
    }

    /** A blocked anchor: its ONNX op between an unblock of input 0 and a block of output 0. */
    private static final class Wrapped implements OpDef {
        @Override
        public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
            Value x = Ops.required(n, inputs, 0, "X");
            int block = block(n), channels = channels(n);
            // A dense conv may read an input in narrower blocks than it writes (an image in one
            // block of its 3 channels); every other op reads and writes the same blocks.
            boolean dense = inner(n).equals("Conv") && n.attrInt("group", 1) == 1;
            int inBlock = x.shape().rank() >= 3 ? x.shape().dim(x.shape().rank() - 1) : block;
            requireBlocked(n, x, dense && inBlock < block ? inBlock : block, channels);
            Node onnx = onnx(n);
            List<Value> in = new ArrayList<>(inputs);
            in.set(0, new Value(x.name(), x.dtype(), new Shape(plainDims(x.shape(), channels))));
            Value y = OpRegistry.get(onnx).infer(onnx, in, consts).get(0);
            return List.of(Ops.out(n, 0, y.dtype(), new Shape(blockedDims(y.shape(), block))));
        }

        @Override
        public List<Tensor> eval(Node n, List<Tensor> inputs) {
            Node onnx = onnx(n);
            List<Tensor> in = new ArrayList<>(inputs);
            in.set(0, unblock(inputs.get(0), channels(n)));
            return List.of(block(OpRegistry.get(onnx).eval(onnx, in).get(0), block(n)));
        }
    }

    /** The ONNX node a blocked anchor wraps (its attributes without block and channels). */
    public static Node onnx(Node n) {
        Map<String, Attr> attrs = new LinkedHashMap<>(n.attrs());
        attrs.remove(BLOCK);
        attrs.remove(CHANNELS);
        return new Node(n.name(), inner(n), "", n.inputs(), n.outputs(), attrs, n.opset());
    }

    /** Whether blocked layouts apply to a tensor of this type: floats. */
    public static boolean blockable(DType t) {
        return t == DType.FLOAT32;
    }
}
