package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.Blocked;
import dev.kiln.irhigh.ops.OpKinds;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Layout transformation to blocked channels with propagation (TVM's AlterOpLayout for NCHWc):
 * 2-D f32 convs with constant weights (dense, depthwise, or grouped with whole blocks per group)
 * become {@code kiln.ConvNCHWc}, which
 * reads and writes {@code [N, C/B, H, W, B]}; the elementwise ops and pools that consume a
 * blocked value are rewritten to work on it too (their per-channel constants re-laid out at
 * compile time), so a chain conv, relu, conv, add, pool stays blocked, and the layout changes only
 * at the edges: {@code kiln.ToBlocked} where an NCHW value first enters a blocked op,
 * {@code kiln.FromBlocked} where an op that keeps NCHW (a reshape, a Gemm, a graph output) reads
 * a blocked one. Each edge is converted once however many ops read it.
 *
 * <p>The block is the caller's (the target's channel block: 16 channels on x86, one 512-bit vector
 * of f32 or two 256-bit ones; 8 on NEON, two 128-bit ones). See {@link Blocked} for the layout
 * and its padding rule. The graph must have been through shape
 * inference; shapes are inferred again at the end.
 */
public final class BlockLayout {
    private BlockLayout() {}


    /** Ops that may run on a blocked value as they are (see {@link OpKinds#BLOCKABLE}). */
    private static final Set<String> ELEMENTWISE = OpKinds.BLOCKABLE;

    private static final Set<String> POOLS = Set.of("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool");

    /** Output channels below which a conv stays NCHW: padding to a block would waste most of the blocked work. */
    private static final int MIN_CHANNELS = 8;

    /** Rewrites {@code g} to blocks of {@code block} channels; returns how many ops now run blocked. */
    public static int run(Graph g, int block) {
        if (block < 2) throw new IllegalArgumentException("channel block must be >= 2: " + block);
        return new Rewriter(g, block).run();
    }

    private static final class Rewriter {
        final Graph g;
        final int block;
        final List<Node> out = new ArrayList<>();
        /** NCHW value name -> the name of its blocked form. */
        final Map<String, String> blockedOf = new HashMap<>();
        /** Blocked value name -> its real channel count. */
        final Map<String, Integer> channelsOf = new HashMap<>();
        /** NCHW values some node (or the graph) produces in NCHW. */
        final Set<String> plain = new HashSet<>();
        final Set<String> names = new HashSet<>();
        int rewritten;

        Rewriter(Graph g, int block) {
            this.g = g;
            this.block = block;
            names.addAll(g.values().keySet());
            names.addAll(g.initializers().keySet());
            for (Value v : g.inputs()) plain.add(v.name());
            plain.addAll(g.initializers().keySet());
        }

        int run() {
            for (Node n : g.nodes()) {
                if (!rewrite(n)) {
                    for (String in : n.inputs()) needPlain(in);
                    out.add(n);
                    for (String o : n.outputs()) if (!o.isEmpty()) plain.add(o);
                }
            }
            for (String o : g.outputs()) needPlain(o);
            if (rewritten == 0) return 0;
            g.setNodes(out);
            ShapeInference.run(g);
            return rewritten;
        }

        boolean rewrite(Node n) {
            if (!OpRegistry.isOnnxDomain(n.domain()) || n.outputs().size() != 1) return false;
            if (n.op().equals("Conv")) return conv(n);
            if (POOLS.contains(n.op())) return pool(n);
            if (ELEMENTWISE.contains(n.op()) || floatCast(n)) return elementwise(n);
            if (n.op().equals("Resize")) return resize(n);
            return false;
        }

        /**
         * A Resize of a blocked value that keeps the channels (an FPN's nearest-neighbour
         * upsampling): the same Resize on the blocked form, with scales or sizes for
         * {@code [N, C/B, H, W, B]} (1 and the same size on the two channel axes). Every mode
         * computes each axis's coordinates from that axis alone, so it means the same.
         * Not for opset 18's axes or aspect-ratio policies, antialiasing, or tf_crop_and_resize (its roi).
         */
        boolean resize(Node n) {
            String x = n.input(0);
            if (!blockedOf.containsKey(x) || g.value(x).shape().rank() != 4 || n.opset() < 11) return false;
            if (n.has("axes") || n.attrInt("antialias", 0) != 0 || !n.attrString("keep_aspect_ratio_policy", "stretch").equals("stretch")
                    || n.attrString("coordinate_transformation_mode", "half_pixel").equals("tf_crop_and_resize")) return false;
            Shape xs = g.value(x).shape(), ys = g.value(n.output(0)).shape();
            if (ys.dim(1) != xs.dim(1)) return false;
            Tensor scales = n.hasInput(2) ? g.initializers().get(n.input(2)) : null;
            Tensor sizes = n.hasInput(3) ? g.initializers().get(n.input(3)) : null;
            if (n.hasInput(2) && scales == null || n.hasInput(3) && sizes == null) return false;
            if (scales != null && scales.size() == 0) scales = null;
            if (sizes != null && sizes.size() == 0) sizes = null;
            if ((scales == null) == (sizes == null)) return false;
            List<String> inputs = new ArrayList<>(List.of(blockedOf.get(x), "", "", ""));
            int c = xs.dim(1), cb = (c + block - 1) / block;
            if (scales != null) {
                if (scales.size() != 4 || scales.getDouble(1) != 1) return false;
                float[] v = {(float) scales.getDouble(0), 1f, (float) scales.getDouble(2), (float) scales.getDouble(3), 1f};
                inputs.set(2, constant(n.input(2), "scales", () -> Tensor.ofFloats(new Shape(5), v)));
            } else {
                if (sizes.size() != 4 || sizes.getLong(1) != c) return false;
                long[] v = {sizes.getLong(0), cb, sizes.getLong(2), sizes.getLong(3), block};
                inputs.set(3, constant(n.input(3), "sizes", () -> Tensor.ofLongs(new Shape(5), v)));
            }
            emitSame(n, inputs, c);
            return true;
        }

        boolean conv(Node n) {
            Value x = g.value(n.input(0)), y = g.value(n.output(0));
            if (x.shape().rank() != 4 || !Blocked.blockable(x.dtype()) || !g.isConstant(n.input(1))) return false;
            int c = x.shape().dim(1), m = y.shape().dim(1);
            long group = n.attrInt("group", 1);
            boolean depthwise = group == c && m == c && group > 1;
            // A grouped conv blocks when each group's input and output channels fill whole blocks
            // (ResNeXt's 32 groups of 8 do not; 4 groups of 16 or more do).
            boolean grouped = group > 1 && !depthwise && (c / group) % block == 0 && (m / group) % block == 0;
            if (group != 1 && !depthwise && !grouped) return false;
            if (Math.max(c, m) < MIN_CHANNELS) return false;
            // An input narrower than a block (an image) enters a dense conv in one block of its own
            // channels: a copy padded to a whole block would be mostly zeros (13 of 16 lanes for RGB on x86).
            String xb = !depthwise && c < block && !blockedOf.containsKey(n.input(0)) && !g.isConstant(n.input(0))
                    ? narrow(n.input(0), c) : blocked(n.input(0), c);
            List<String> inputs = new ArrayList<>(n.inputs());
            inputs.set(0, xb);
            emitBlocked(n, inputs, c, m);
            return true;
        }

        boolean pool(Node n) {
            String x = n.input(0);
            if (!blockedOf.containsKey(x) || g.value(x).shape().rank() != 4) return false;
            if (n.op().equals("MaxPool") && n.attrInt("storage_order", 0) != 0) return false;
            int c = g.value(x).shape().dim(1);
            List<String> inputs = new ArrayList<>(n.inputs());
            inputs.set(0, blockedOf.get(x));
            emitBlocked(n, inputs, c, c);
            return true;
        }

        /** Replaces {@code n} by its blocked op reading {@code inputs}; its output exists only blocked until someone needs NCHW. */
        void emitBlocked(Node n, List<String> inputs, int channels, int outChannels) {
            Map<String, Attr> attrs = new LinkedHashMap<>(n.attrs());
            attrs.put(Blocked.BLOCK, new Attr.Int(block));
            attrs.put(Blocked.CHANNELS, new Attr.Int(channels));
            String yb = fresh(n.output(0) + "__nchw" + block + "c");
            out.add(new Node(n.name(), n.op() + Blocked.SUFFIX, Blocked.DOMAIN, inputs, List.of(yb), attrs, 1));
            blockedOf.put(n.output(0), yb);
            channelsOf.put(yb, outChannels);
            rewritten++;
        }

        /**
         * A Cast between float types (the round trip through 16 bits that {@link WidenHalf} puts
         * after each op of a 16-bit model): zeros stay zeros, so it runs on a blocked value too,
         * and a conv's blocked result goes on blocked through its rounding.
         */
        boolean floatCast(Node n) {
            if (!n.op().equals("Cast") || n.inputs().isEmpty() || !g.values().containsKey(n.input(0))) return false;
            DType from = g.value(n.input(0)).dtype(), to = g.value(n.output(0)).dtype();
            return from.isFloat() && to.isFloat() && from != DType.FLOAT64 && to != DType.FLOAT64;
        }

        boolean elementwise(Node n) {
            Value y = g.value(n.output(0));
            if (y.shape().rank() != 4 || !Blocked.blockable(y.dtype()) && !floatCast(n)) return false;
            boolean any = false;
            for (String in : n.inputs()) any |= blockedOf.containsKey(in) && g.value(in).shape().equals(y.shape());
            if (!any) return false;
            int c = y.shape().dim(1);
            // Run-time operands other than the blocked one must broadcast per channel (a
            // squeeze-excitation scale [N, C, 1, 1] against [N, C, H, W], or the same shape): blocked
            // ones are read as they are, NCHW ones converted once (the op's other operand, already
            // blocked, would otherwise be converted back). Checked before anything is emitted.
            for (String in : n.inputs()) {
                if (!in.isEmpty() && g.isConstant(in) && relayConstant(in, y.shape()) == null) return false;
                if (in.isEmpty() || g.isConstant(in) || blockedOf.containsKey(in) && g.value(in).shape().equals(y.shape())) continue;
                if (!broadcastsPerChannel(g.value(in).shape(), y.shape())) return false;
            }
            List<String> inputs = new ArrayList<>();
            for (String in : n.inputs()) {
                if (in.isEmpty()) {
                    inputs.add(in);
                } else if (g.isConstant(in)) {
                    inputs.add(relayConstant(in, y.shape()));
                } else {
                    inputs.add(blocked(in, c));
                }
            }
            emitSame(n, inputs, c);
            return true;
        }

        /** {@code n} itself (same op and attributes) on blocked {@code inputs}, writing a blocked output of {@code c} channels. */
        void emitSame(Node n, List<String> inputs, int c) {
            String yb = fresh(n.output(0) + "__nchw" + block + "c");
            out.add(new Node(n.name(), n.op(), n.domain(), inputs, List.of(yb), n.attrs(), n.opset()));
            blockedOf.put(n.output(0), yb);
            channelsOf.put(yb, c);
            rewritten++;
        }

        /** Whether run-time value shape {@code s} is {@code [N or 1, C, H or 1, W or 1]} against output {@code y}. */
        static boolean broadcastsPerChannel(Shape s, Shape y) {
            if (s.rank() != 4 || s.dim(1) != y.dim(1)) return false;
            for (int d : new int[] {0, 2, 3}) if (s.dim(d) != 1 && s.dim(d) != y.dim(d)) return false;
            return true;
        }

        /**
         * A constant operand of an elementwise op on a blocked {@code [N, C, H, W]} value, in a form
         * that broadcasts the same way against the blocked value: a single element as it is; a
         * per-channel (or per-position) tensor re-laid out to {@code [n, C/B, h, w, B]} or
         * {@code [n, 1, h, w, 1]}. Null when it broadcasts some other way.
         */
        String relayConstant(String name, Shape out) {
            Tensor t = g.initializers().get(name);
            if (t.size() == 1) return name;
            if (t.shape().rank() > 4 || !Blocked.blockable(t.dtype())) return null;
            int[] d = new int[4];
            Arrays.fill(d, 1);
            int[] td = t.shape().dims();
            System.arraycopy(td, 0, d, 4 - td.length, td.length);
            for (int i = 0; i < 4; i++) if (d[i] != 1 && d[i] != out.dim(i)) return null;
            if (d[1] == 1) return constant(name, "lanes", () -> Tensor.of(t.dtype(), new Shape(d[0], 1, d[2], d[3], 1), t.floats()));
            return constant(name, "blocks", () -> Blocked.block(Tensor.of(t.dtype(), new Shape(d), t.floats()), block));
        }

        /** Re-laid-out constants by original name and form, so each is made once however many ops read it. */
        final Map<String, String> relaid = new HashMap<>();

        /** The initializer holding constant {@code name} in {@code form}, added from {@code make} the first time. */
        String constant(String name, String form, java.util.function.Supplier<Tensor> make) {
            return relaid.computeIfAbsent(name + "/" + form, k -> {
                Tensor t = make.get();
                String fresh = fresh(name + "__nchw" + block + "c");
                g.initializers().put(fresh, t);
                g.values().put(fresh, new Value(fresh, t.dtype(), t.shape()));
                return fresh;
            });
        }

        /** The blocked form of NCHW value {@code v} with {@code c} channels, converting it once where needed. */
        String blocked(String v, int c) {
            String b = blockedOf.get(v);
            if (b != null) return b;
            if (g.isConstant(v)) {
                b = constant(v, "blocks", () -> Blocked.block(g.initializers().get(v), block));
            } else {
                b = fresh(v + "__nchw" + block + "c");
                out.add(new Node("to_nchw" + block + "c_" + v, Blocked.TO, Blocked.DOMAIN, List.of(v), List.of(b),
                        Map.of(Blocked.BLOCK, new Attr.Int(block)), 1));
            }
            blockedOf.put(v, b);
            channelsOf.put(b, c);
            return b;
        }

        /** NCHW value {@code v} in one block of its {@code c} channels, converted once however many convs read it. */
        final Map<String, String> narrowed = new HashMap<>();

        String narrow(String v, int c) {
            return narrowed.computeIfAbsent(v, k -> {
                String b = fresh(v + "__nchw" + c + "c");
                out.add(new Node("to_nchw" + c + "c_" + v, Blocked.TO, Blocked.DOMAIN, List.of(v), List.of(b),
                        Map.of(Blocked.BLOCK, new Attr.Int(c)), 1));
                return b;
            });
        }

        /** Makes NCHW value {@code v} exist (converting its blocked form back) if it is blocked only. */
        void needPlain(String v) {
            if (v.isEmpty() || plain.contains(v) || !blockedOf.containsKey(v)) return;
            String b = blockedOf.get(v);
            out.add(new Node("from_nchw" + block + "c_" + v, Blocked.FROM, Blocked.DOMAIN, List.of(b), List.of(v),
                    Map.of(Blocked.BLOCK, new Attr.Int(block), Blocked.CHANNELS, new Attr.Int(channelsOf.get(b))), 1));
            plain.add(v);
        }

        String fresh(String base) {
            String n = base;
            for (int i = 1; names.contains(n); i++) n = base + "_" + i;
            names.add(n);
            return n;
        }
    }
}
