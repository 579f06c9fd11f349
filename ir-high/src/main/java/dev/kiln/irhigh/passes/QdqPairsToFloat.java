package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;
import java.util.Map;

/**
 * A QuantizeLinear whose only reader is a DequantizeLinear with the same per-tensor scale and zero
 * point (the activation pairs of a QDQ model) rounds a float tensor to the quantization grid and back.
 * The pair becomes float arithmetic in the same order of operations,
 * {@code (Clip(Round(x / s) + zp, qmin, qmax) - zp) * s}: exact, since every value after the rounding
 * is a small integer (and adding the zero point turns Round's -0 into +0 as the integer round trip
 * does). Being elementwise on floats, it runs blocked and fuses into the kernel that
 * produces x instead of costing two kernels and two layout changes.
 */
public final class QdqPairsToFloat {
    private QdqPairsToFloat() {}

    /** Rewrites every such pair; returns how many. The graph must have been through shape inference. */
    public static int run(Graph g) {
        Map<String, List<Node>> consumers = g.consumers();
        java.util.Set<String> outputs = new java.util.HashSet<>(g.outputs());
        java.util.Set<Node> dropped = new java.util.HashSet<>();
        int[] count = {0};
        Rewrites.replaceEach(g, n -> {
            if (dropped.contains(n)) return List.of();
            if (!Rewrites.isOnnx(n, "QuantizeLinear") || outputs.contains(n.output(0))) return null;
            List<Node> readers = consumers.getOrDefault(n.output(0), List.of());
            if (readers.size() != 1 || !Rewrites.isOnnx(readers.getFirst(), "DequantizeLinear")) return null;
            Node dq = readers.getFirst();
            Tensor s = scalar(g, n, 1), zp = zeroPoint(g, n);
            if (s == null || zp == null || !java.util.Set.of(DType.UINT8, DType.INT8, DType.UINT16, DType.INT16).contains(zp.dtype()) || s.dtype() != DType.FLOAT32 || g.value(n.input(0)).dtype() != DType.FLOAT32) return null;
            if (!dq.input(0).equals(n.output(0)) || !s.equals(scalar(g, dq, 1)) || !zp.equals(zeroPoint(g, dq))) return null;
            dropped.add(dq);
            count[0]++;
            return rewrite(g, n, dq, s, zp);
        });
        return count[0];
    }

    private static List<Node> rewrite(Graph g, Node q, Node dq, Tensor scale, Tensor zp) {
        DType t = zp.dtype();
        long z = zp.getLong(0);
        long qmin = t == DType.UINT8 ? 0 : t == DType.INT8 ? -128 : t == DType.UINT16 ? 0 : -32768;
        long qmax = t == DType.UINT8 ? 255 : t == DType.INT8 ? 127 : t == DType.UINT16 ? 65535 : 32767;
        String base = q.name().isEmpty() ? dq.output(0) : q.name();
        String s = Rewrites.constant(g, base + "_scale", Tensor.ofFloats(Shape.of(), scale.floats()[0]));
        String zero = Rewrites.constant(g, base + "_zero_point", Tensor.ofFloats(Shape.of(), z));
        String lo = Rewrites.constant(g, base + "_min", Tensor.ofFloats(Shape.of(), qmin));
        String hi = Rewrites.constant(g, base + "_max", Tensor.ofFloats(Shape.of(), qmax));
        String[] roles = {"scaled", "rounded", "shifted", "saturated", "levels"};
        String[] v = new String[roles.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = Rewrites.fresh(g, base + "_" + roles[i]);
            g.values().put(v[i], new Value(v[i], DType.FLOAT32, null));
        }
        return List.of(node(base + "/divide", "Div", List.of(q.input(0), s), v[0]),
                node(base + "/round", "Round", List.of(v[0]), v[1]),
                node(base + "/add_zero_point", "Add", List.of(v[1], zero), v[2]),
                node(base + "/saturate", "Clip", List.of(v[2], lo, hi), v[3]),
                node(base + "/sub_zero_point", "Sub", List.of(v[3], zero), v[4]),
                node(base + "/dequantize", "Mul", List.of(v[4], s), dq.output(0)));
    }

    /** The zero point: input 2, or uint8 0 when there is none; null when it is not a one-element constant. */
    private static Tensor zeroPoint(Graph g, Node n) {
        return n.hasInput(2) ? scalar(g, n, 2) : Tensor.zeros(DType.UINT8, Shape.of());
    }

    /** The node's input {@code i} when it is a constant of one element, else null. */
    private static Tensor scalar(Graph g, Node n, int i) {
        if (!n.hasInput(i) || !g.isConstant(n.input(i))) return null;
        Tensor t = g.initializers().get(n.input(i));
        return t != null && t.size() == 1 ? t.reshape(Shape.of()) : null;
    }

    private static Node node(String name, String op, List<String> in, String out) {
        return new Node(name, op, "", in, List.of(out), Map.of(), Rewrites.OPSET);
    }
}
