package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * If: the graph pass {@code InlineIf} replaces every If whose condition is known at compile time
 * by the branch it takes, so an If that reaches shape inference has a condition known only at
 * run time, which Kiln does not compile yet. The error names the condition the way other
 * shape-deciding inputs are named, so that {@code --input-value} advice follows it.
 */
final class IfOp implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        throw n.error(Ops.in(n, 0, "cond") + " must be a compile-time constant: Kiln compiles the branch an If takes when its condition "
                + "follows from constants and input shapes (branching at run time is not supported yet)");
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        throw n.error("is evaluated by inlining the branch it takes (graph pass InlineIf), not as one node");
    }
}
