package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Constant: its one attribute (value, value_float, value_floats, value_int, value_ints) as a tensor. */
final class Constant implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 0, 0);
        Ops.requireOutputs(n, 1, 1);
        Tensor t = value(n);
        return List.of(Ops.out(n, 0, t.dtype(), t.shape()));
    }

    static Tensor value(Node n) {
        if (n.attrs().size() != 1)
            throw n.error("Constant needs exactly one value attribute but has " + n.attrs().keySet());
        String a = n.attrs().keySet().iterator().next();
        return switch (a) {
            case "value" -> n.attrTensor("value");
            case "value_float" -> Tensor.ofFloats(Shape.SCALAR, n.attrFloat(a, 0));
            case "value_floats" -> {
                float[] v = n.attrFloats(a, null);
                yield Tensor.ofFloats(new Shape(v.length), v);
            }
            case "value_int" -> Tensor.ofLongs(Shape.SCALAR, n.attrInt(a, 0));
            case "value_ints" -> {
                long[] v = n.attrInts(a, null);
                yield Tensor.ofLongs(new Shape(v.length), v);
            }
            default -> throw n.error("attribute '" + a + "' is not supported (Kiln supports value, value_float, value_floats, value_int, value_ints)");
        };
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        return List.of(value(n));
    }
}
