package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * If, Loop and Scan: the graph pass {@code ControlFlow} expands every one whose course is known
 * at compile time into plain nodes, so one that reaches shape inference depends on values known
 * only at run time, which Kiln does not compile yet. The errors name the input that would have
 * to be known the way other shape-deciding inputs are named, so that {@code --input-value}
 * advice follows them.
 */
final class ControlFlowOp implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        String runtime = "(branching and looping at run time are not supported yet)";
        switch (n.op()) {
            case "If" -> throw n.error(Ops.in(n, 0, "cond") + " must be a compile-time constant: Kiln compiles the branch an If takes "
                    + "when its condition follows from constants and input shapes " + runtime);
            case "Loop" -> {
                if (n.hasInput(0) && Ops.constant(consts, 0) == null)
                    throw n.error(Ops.in(n, 0, "M") + " must be a compile-time constant: Kiln unrolls a Loop whose trip count is known "
                            + "at compile time " + runtime);
                if (n.hasInput(1) && Ops.constant(consts, 1) == null)
                    throw n.error(Ops.in(n, 1, "cond") + " must be a compile-time constant: Kiln unrolls a Loop whose condition is known "
                            + "at compile time " + runtime);
                throw n.error("has a body whose condition depends on values known only at run time; Kiln unrolls a Loop only when "
                        + "every iteration's condition follows from constants and shapes " + runtime);
            }
            default -> throw n.error("could not be unrolled: the shapes of its scanned inputs are not known at compile time " + runtime);
        }
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        throw n.error("is evaluated by expanding it into the nodes it runs (graph pass ControlFlow), not as one node");
    }
}
