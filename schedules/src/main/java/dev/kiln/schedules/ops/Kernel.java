package dev.kiln.schedules.ops;

import dev.kiln.irlow.PrimFunc;
import java.util.List;

/**
 * The scheduled kernel of one graph node. {@code inputs} and {@code outputs} are the graph value
 * names bound to {@code func}'s parameters, in parameter order (inputs first). Constants that only
 * steer shapes or index arithmetic (Reshape's shape, Slice's starts, ...) are folded into the
 * kernel and are not parameters; weights are parameters, fed from the embedded initializer.
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
