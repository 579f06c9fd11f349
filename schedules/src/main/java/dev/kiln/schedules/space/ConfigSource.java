package dev.kiln.schedules.space;

import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.targets.Target;

/**
 * Where the compiler gets the knob values of each kernel: the heuristic defaults, or the best
 * tuning record of the kernel's workload.
 */
@FunctionalInterface
public interface ConfigSource {
    /** The knobs to schedule {@code node}'s kernel with (a fresh {@link Knobs} per call). */
    Knobs knobsFor(Node node, Graph graph, Target target);

    /** Every kernel on its heuristic defaults. */
    ConfigSource DEFAULTS = (node, graph, target) -> Knobs.defaults();
}
