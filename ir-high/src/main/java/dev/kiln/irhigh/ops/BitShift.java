package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * BitShift on unsigned integers with numpy broadcasting: {@code direction} LEFT or RIGHT. Bits
 * shifted past the type's width are lost; a shift by the width or more gives 0.
 */
final class BitShift implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X"), y = Ops.required(n, inputs, 1, "Y");
        if (!x.dtype().isUnsigned()) throw n.error(Ops.in(n, 0, "X") + " must be an unsigned integer, got " + Ops.type(x));
        Ops.requireSameDtype(n, x, 0, "X", y, 1, "Y");
        left(n);
        Shape out = Broadcast.of(n, java.util.Arrays.asList(x, y), "X", "Y");
        return List.of(Ops.out(n, 0, x.dtype(), out));
    }

    /** True for LEFT, false for RIGHT; anything else is an error. */
    static boolean left(Node n) {
        String d = n.attrString("direction", "");
        if (d.equals("LEFT")) return true;
        if (d.equals("RIGHT")) return false;
        throw n.error("direction must be LEFT or RIGHT, got '" + d + "'");
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape out = Ops.inferFrom(this, n, inputs).get(0).shape();
        boolean left = left(n);
        int bits = inputs.get(0).dtype().byteSize * 8;
        // Storage holds the unsigned value zero-extended (uint64: its bit pattern), so >>> is exact.
        return List.of(Elementwise.binary(inputs.get(0), inputs.get(1), out, inputs.get(0).dtype(), (a, b) -> 0, (a, b) -> {
            if (b < 0 || b >= bits) return 0;
            return left ? a << b : a >>> b;
        }));
    }
}
