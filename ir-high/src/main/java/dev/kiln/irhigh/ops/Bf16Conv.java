package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code kiln.Bf16Conv}: a dense 2-D {@code kiln.ConvNCHWc} (same inputs, attributes and blocked
 * layouts) computed on its input and constant weights rounded to bfloat16, the products summed in
 * float32 or better, the bias added after. What {@code --precision bf16} makes of the convs whose
 * input and output channels fill whole blocks; the reference rounds both and sums exactly.
 */
public final class Bf16Conv implements OpDef {
    public static final String DOMAIN = "kiln", OP = "Bf16Conv";

    static final Bf16Conv INSTANCE = new Bf16Conv();

    private Bf16Conv() {}

    /** Whether {@code n} is such a node. */
    public static boolean is(Node n) {
        return n.domain().equals(DOMAIN) && n.op().equals(OP);
    }

    /** The blocked conv this node computes in bf16. */
    public static Node blocked(Node n) {
        return new Node(n.name(), "Conv" + Blocked.SUFFIX, Blocked.DOMAIN, n.inputs(), n.outputs(), n.attrs(), n.opset());
    }

    @Override
    public List<Value> infer(Node node, List<Value> inputs, List<Tensor> constInputs) {
        Node b = blocked(node);
        return OpRegistry.get(b).infer(b, inputs, constInputs);
    }

    @Override
    public List<Tensor> eval(Node node, List<Tensor> inputs) {
        List<Tensor> in = new ArrayList<>(inputs);
        for (int i = 0; i < 2; i++) {
            float[] v = inputs.get(i).floats();
            in.set(i, Tensor.generate(DType.FLOAT32, inputs.get(i).shape(), k -> Bf16MatMul.round(v[k])));
        }
        Node b = blocked(node);
        return OpRegistry.get(b).eval(b, in);
    }
}
