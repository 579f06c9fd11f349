package dev.kiln.codegen.executor;

import dev.kiln.irhigh.Graph;
import dev.kiln.schedules.ops.Kernel;
import java.util.List;

/**
 * The branch guards of a kernel ({@link Graph#guards}): those its outputs all share, or none
 * when one output has none or another list (a kernel that also computes something needed
 * outside the branch always runs).
 */
final class KernelGuards {
    private KernelGuards() {}

    static List<Graph.Guard> of(Graph g, Kernel k) {
        List<Graph.Guard> common = null;
        for (String o : k.outputs()) {
            if (HoistScratch.isScratch(o)) continue;
            List<Graph.Guard> guards = g.guards().getOrDefault(o, List.of());
            if (guards.isEmpty() || common != null && !common.equals(guards)) return List.of();
            common = guards;
        }
        return common == null ? List.of() : common;
    }
}
