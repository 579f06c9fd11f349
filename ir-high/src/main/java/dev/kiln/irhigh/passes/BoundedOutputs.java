package dev.kiln.irhigh.passes;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.ops.DataDependent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Gives every output whose length the data decides ({@link DataDependent}) its companion
 * {@code <output>:shape} output, and makes each companion of a graph output a graph output too,
 * after the model's own outputs, so a caller reads the actual shape and the model's output
 * indices do not move. Such an output can only leave the model: a node that reads one is
 * refused, since every kernel is compiled for static shapes.
 */
public final class BoundedOutputs {
    private BoundedOutputs() {}

    /** Adds the companions; returns how many outputs are bounded. */
    public static int run(Graph g) {
        Map<String, List<Node>> consumers = g.consumers();
        List<Node> rewritten = new ArrayList<>();
        List<String> companions = new ArrayList<>();
        int bounded = 0;
        for (Node n : g.nodes()) {
            if (!DataDependent.is(n) || DataDependent.onnxOutputs(n) != n.outputs().size()) {
                rewritten.add(n);
                continue;
            }
            List<String> outs = new ArrayList<>(n.outputs());
            for (int i : DataDependent.boundedOutputs(n)) {
                String v = n.output(i), shape = DataDependent.shapeOutput(v);
                List<Node> readers = consumers.getOrDefault(v, List.of());
                if (!readers.isEmpty()) throw refused(n, v, readers.getFirst(), g);
                if (g.values().containsKey(shape) || g.initializers().containsKey(shape))
                    throw n.error("cannot name the shape output of '" + v + "' '" + shape + "': the model already has a value of that name");
                outs.add(shape);
                g.values().put(shape, new Value(shape, DType.INT64, new Shape(g.value(v).shape().rank())));
                if (g.outputs().contains(v)) companions.add(shape);
                bounded++;
            }
            rewritten.add(new Node(n.name(), n.op(), n.domain(), n.inputs(), outs, n.attrs(), n.opset()));
        }
        g.setNodes(rewritten);
        g.outputs().addAll(companions);
        return bounded;
    }

    private static KilnException refused(Node n, String v, Node reader, Graph g) {
        return n.error("output '" + v + "' has a length known only at run time (at most " + g.value(v).shape()
                + "), and " + reader.describe() + " reads it: Kiln compiles every kernel for static shapes, so such an output "
                + "can only be an output of the model. Make '" + v + "' a model output and finish in the caller, or bind the "
                + "inputs it depends on with --input-value so that it folds at compile time");
    }
}
