package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/** Cast to the dtype in attribute {@code to} (an ONNX type code; a type name before opset 6). */
final class Cast implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "input");
        return List.of(Ops.out(n, 0, target(n), x.shape()));
    }

    static DType target(Node n) {
        return switch (n.attrs().get("to")) {
            case null -> throw n.error("missing required attribute 'to'");
            case Attr.Str(String name) -> switch (name.toUpperCase()) {
                case "FLOAT" -> DType.FLOAT32;
                case "DOUBLE" -> DType.FLOAT64;
                case "FLOAT16" -> DType.FLOAT16;
                case "BFLOAT16" -> DType.BFLOAT16;
                case "BOOL" -> DType.BOOL;
                default -> {
                    try {
                        yield DType.valueOf(name.toUpperCase());
                    } catch (IllegalArgumentException e) {
                        throw n.error("attribute 'to' names an unsupported type '" + name + "'");
                    }
                }
            };
            default -> {
                try {
                    yield DType.fromOnnx((int) n.attrInt("to", 0));
                } catch (dev.kiln.irhigh.KilnException e) {
                    throw n.error(e.getMessage());
                }
            }
        };
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        DType to = Ops.inferFrom(this, n, inputs).get(0).dtype();
        Tensor x = inputs.get(0);
        return List.of(x.dtype() == to ? x : x.cast(to));
    }
}
