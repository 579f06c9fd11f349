package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.ops.OpRegistry;
import java.util.List;
import java.util.Map;

/**
 * {@code Pow(x, 2)} with a constant exponent (power spectra, variances, squared errors) becomes
 * {@code Mul(x, x)}: the same correctly rounded result, one multiply instead of a call to
 * {@code pow} per element. Floating-point x only (integer Pow goes through double).
 */
public final class SquareByMul {
    private SquareByMul() {}

    /** Rewrites every eligible Pow; returns how many. */
    public static int run(Graph g) {
        return Rewrites.replaceEach(g, n -> !isSquare(n, g) ? null
                : List.of(new Node(n.name(), "Mul", "", List.of(n.input(0), n.input(0)), n.outputs(), Map.of(), Math.max(n.opset(), 7))));
    }

    private static boolean isSquare(Node n, Graph g) {
        if (!n.op().equals("Pow") || !OpRegistry.isOnnxDomain(n.domain()) || n.inputs().size() != 2) return false;
        Tensor e = g.initializers().get(n.input(1));
        if (e == null || e.size() != 1 || e.getDouble(0) != 2.0 || !g.values().containsKey(n.input(0))) return false;
        if (!g.value(n.input(0)).dtype().isFloat()) return false;
        // The exponent must not broadcast the result to a larger rank than x's.
        return e.shape().rank() <= g.value(n.input(0)).shape().rank();
    }
}
