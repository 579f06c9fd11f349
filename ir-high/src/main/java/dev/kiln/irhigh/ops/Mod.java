package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * Mod with numpy broadcasting: the remainder takes the divisor's sign ({@code fmod=0}, Python's
 * %), or the dividend's ({@code fmod=1}, C's fmod; required for floats).
 */
final class Mod implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value a = Ops.required(n, inputs, 0, "A"), b = Ops.required(n, inputs, 1, "B");
        Ops.requireNumeric(n, a, 0, "A");
        Ops.requireSameDtype(n, a, 0, "A", b, 1, "B");
        if (a.dtype().isFloat() && n.attrInt("fmod", 0) == 0) throw n.error("fmod must be 1 for floating-point inputs");
        Shape out = Broadcast.of(n, java.util.Arrays.asList(a, b), "A", "B");
        return List.of(Ops.out(n, 0, a.dtype(), out));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        boolean fmod = n.attrInt("fmod", 0) != 0;
        return List.of(Elementwise.binary(inputs.get(0), inputs.get(1), out, inputs.get(0).dtype(), (x, y) -> x % y, (x, y) -> {
            if (y == 0) throw n.error("integer modulo by zero");
            return fmod ? x % y : Math.floorMod(x, y);
        }));
    }
}
