package dev.kiln.schedules.ops;

import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Placeholder;
import java.util.List;
import java.util.Map;

/**
 * What one graph node computes, as tensor expressions, before lowering and scheduling: the
 * placeholders bound to graph values {@code inputNames}, the output computes bound to
 * {@code outputNames} (both parallel lists, in kernel parameter order), and the schedule template
 * of each compute that has a special one (by compute name).
 */
public record OpCompute(String funcName, List<Placeholder> inputs, List<String> inputNames,
                        List<Compute> outputs, List<String> outputNames, Map<String, Template> templates) {
    public OpCompute {
        inputs = List.copyOf(inputs);
        inputNames = List.copyOf(inputNames);
        outputs = List.copyOf(outputs);
        outputNames = List.copyOf(outputNames);
        templates = Map.copyOf(templates);
    }

    /** The template of a compute: its tag, else REDUCTION for reductions and INJECTIVE otherwise. */
    public Template templateOf(Compute c) {
        Template t = templates.get(c.name());
        if (t != null) return t;
        return c.body() instanceof dev.kiln.irlow.expr.Expr.Reduce ? Template.REDUCTION : Template.INJECTIVE;
    }
}
