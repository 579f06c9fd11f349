package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * The meaning of one ONNX operator: how its output types follow from its input types, and what
 * it computes. {@link OpRegistry#get} finds the definition of a node.
 *
 * <p>Lists of inputs are parallel to {@code node.inputs()}; an omitted optional input (empty name,
 * or a position past the end) is {@code null}. Lists of outputs are parallel to
 * {@code node.outputs()}; an omitted optional output may be {@code null} in {@link #eval}'s result.
 * Tensors are treated as immutable: an op may return one of its inputs, or share its storage.
 */
public interface OpDef {
    /**
     * Output dtypes and static shapes, named after the node's outputs. {@code constInputs.get(i)}
     * is the value of input i when it is a compile-time constant, else null; ops whose output
     * shape depends on an input's value (Reshape's shape, Slice's starts, ...) need it.
     *
     * @throws dev.kiln.irhigh.KilnException naming the node and what is wrong with its inputs
     */
    List<Value> infer(Node node, List<Value> inputs, List<Tensor> constInputs);

    /** The outputs for concrete inputs: plain, exact Java (double accumulation), in the output dtype. */
    List<Tensor> eval(Node node, List<Tensor> inputs);
}
