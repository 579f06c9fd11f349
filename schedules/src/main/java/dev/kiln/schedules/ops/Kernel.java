package dev.kiln.schedules.ops;

import dev.kiln.irlow.PrimFunc;
import java.util.List;

/**
 * The scheduled kernel of one graph node. {@code inputs} and {@code outputs} are the graph value
 * names bound to {@code func}'s parameters, in parameter order (inputs first). Constants that only
 * steer shapes or index arithmetic (Reshape's shape, Slice's starts, ...) are folded into the
 * kernel and are not parameters; weights are parameters, fed from the embedded initializer.
 *
 * <p>Lowering a node may add constants it derives from the node's own (Conv's weights packed in
 * output-channel blocks, {@code <weight>__packed16}) to the graph's initializers and list them
 * here; the executor embeds only the constants some kernel lists, so an original weight that no
 * kernel reads any more is dropped.
 */
public record Kernel(PrimFunc func, List<String> inputs, List<String> outputs) {
    public Kernel {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (inputs.size() + outputs.size() != func.params().size())
            throw new IllegalArgumentException("kernel " + func.name() + " has " + func.params().size() + " parameters but binds "
                    + inputs.size() + " inputs and " + outputs.size() + " outputs");
    }
}
