package dev.kiln.schedules.ops;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Operation;
import dev.kiln.irlow.transform.Children;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * fp16 (and bfloat16) the way ONNX Runtime computes it: every op computes in fp32 and rounds to fp16 only at
 * its output. Applied to one op's compute: fp16 reads are widened to fp32, arithmetic,
 * intrinsics and reductions (accumulators) run in fp32, the op's helper computes (a softmax's
 * maximum and sum, a padded copy) hold fp32, and each output compute rounds once when it
 * stores. A fused group is built from its ops' promoted computes, so each op inside it still
 * rounds at its output, as ONNX Runtime does when it materializes each op's fp16 result. An
 * explicit conversion to fp16 (a Cast) keeps its rounding.
 */
final class HalfPromotion {
    private HalfPromotion() {}

    /** {@code c} with its fp16 arithmetic in fp32; {@code c} itself when it has none. */
    static OpCompute promote(OpCompute c) {
        if (!usesHalf(c)) return c;
        Map<String, Compute> rebuilt = new HashMap<>();
        List<String> outputs = c.outputs().stream().map(Compute::name).toList();
        List<Compute> outs = new ArrayList<>();
        for (Compute o : c.outputs()) outs.add(rebuild(o, outputs, rebuilt));
        return new OpCompute(c.funcName(), c.inputs(), c.inputNames(), outs, c.outputNames(), c.templates());
    }

    private static boolean usesHalf(OpCompute c) {
        if (c.inputs().stream().anyMatch(p -> narrow(p.dtype()))) return true;
        return c.outputs().stream().anyMatch(o -> narrow(o.dtype()));
    }

    /** The 16-bit float types, which compute in fp32. */
    static boolean narrow(ScalarType t) {
        return t == ScalarType.F16 || t == ScalarType.BF16;
    }

    private static Compute rebuild(Compute c, List<String> outputs, Map<String, Compute> rebuilt) {
        Compute done = rebuilt.get(c.name());
        if (done != null) return done;
        Expr body = widen(c.body(), outputs, rebuilt);
        Compute r;
        if (!narrow(c.dtype())) {
            r = new Compute(c.name(), c.dtype(), c.shape(), c.axes(), body);
        } else if (outputs.contains(c.name()) && body instanceof Expr.Reduce) {
            // The reduction accumulates in an fp32 stage under the compute's name (its template
            // still finds it); the output rounds it in an elementwise stage after it.
            Compute acc = new Compute(c.name(), ScalarType.F32, c.shape(), c.axes(), body);
            List<Expr.Var> axes = c.axes().stream().map(a -> new Expr.Var(a.name() + "_h", a.type())).toList();
            r = new Compute(c.name() + "_narrow", c.dtype(), c.shape(), axes,
                    new Expr.Cast(Type.of(c.dtype()), new Expr.TensorRead(acc, List.copyOf(axes))));
        } else if (outputs.contains(c.name())) {
            r = new Compute(c.name(), c.dtype(), c.shape(), c.axes(), new Expr.Cast(Type.of(c.dtype()), body));
        } else {
            r = new Compute(c.name(), ScalarType.F32, c.shape(), c.axes(), body); // a helper: holds fp32
        }
        rebuilt.put(c.name(), r);
        return r;
    }

    private static Expr widen(Expr e, List<String> outputs, Map<String, Compute> rebuilt) {
        Expr r = switch (e) {
            case Expr.TensorRead(Operation t, List<Expr> idx) -> {
                List<Expr> i = idx.stream().map(x -> widen(x, outputs, rebuilt)).toList();
                Operation src = t instanceof Compute cc ? rebuild(cc, outputs, rebuilt) : t;
                Expr read = new Expr.TensorRead(src, i);
                yield narrow(src.dtype()) ? new Expr.Cast(Type.of(ScalarType.F32), read) : read;
            }
            case Expr.FloatImm(Type t, double v) when narrow(t.scalar()) -> new Expr.FloatImm(Type.of(ScalarType.F32), v);
            case Expr.Var v when narrow(v.type().scalar()) -> new Expr.Var(v.name(), Type.of(ScalarType.F32));
            case Expr.Cast(Type t, Expr v) when narrow(t.scalar()) -> {
                Expr inner = widen(v, outputs, rebuilt);
                // An explicit conversion to fp16 rounds, then the op goes on in fp32.
                yield new Expr.Cast(Type.of(ScalarType.F32), new Expr.Cast(t, inner));
            }
            case Expr.Call(Type t, var fn, List<Expr> args) when narrow(t.scalar()) ->
                    new Expr.Call(Type.of(ScalarType.F32), fn, args.stream().map(x -> widen(x, outputs, rebuilt)).toList());
            default -> Children.map(e, x -> widen(x, outputs, rebuilt));
        };
        return r;
    }
}
