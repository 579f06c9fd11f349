package dev.kiln.autotune.tune;

import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.ops.Work;
import dev.kiln.schedules.ops.Workload;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Finds the tuning tasks of a model: every distinct {@link Workload} among the kernels of the
 * optimized graph whose config space has more than one point, weighted by how many kernels share
 * it (a workload run twice per inference counts twice in the end-to-end latency).
 */
public final class TaskExtractor {
    private TaskExtractor() {}

    /**
     * One task. {@code node} is the first kernel of the workload, in {@code graph}; {@code flops}
     * is the work of one run of it.
     */
    public record Task(Workload workload, Node node, Graph graph, ConfigSpace space, int weight, double flops) {
        public String key() {
            return workload.key();
        }
    }

    /** The tasks and how many of the graph's kernels they cover (the rest have nothing to tune). */
    public record Extracted(Graph graph, List<Task> tasks, int kernels, int covered) {}

    /**
     * Loads {@code model} (a file or {@code zoo:NAME}), runs {@code passes} over it (the compiler's
     * graph passes for {@code target}: the driver's GraphPipeline) and extracts.
     */
    public static Extracted fromModel(String model, Map<String, long[]> inputShapes, Target target, UnaryOperator<Graph> passes) {
        return fromModel(model, inputShapes, Map.of(), target, passes);
    }

    /** As above, with the inputs {@code inputValues} names bound to those values ({@code --input-value}). */
    public static Extracted fromModel(String model, Map<String, long[]> inputShapes, Map<String, java.util.List<String>> inputValues,
                                      Target target, UnaryOperator<Graph> passes) {
        return extract(passes.apply(ModelSource.load(model, inputShapes, inputValues)), target);
    }

    /** The tasks of an optimized graph (after the compiler's graph passes), in order of first kernel. */
    public static Extracted extract(Graph g, Target target) {
        Map<String, Workload> workloads = new LinkedHashMap<>();
        Map<String, Node> first = new LinkedHashMap<>();
        Map<String, Integer> weights = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            Workload w = Workload.of(n, g, target);
            workloads.putIfAbsent(w.key(), w);
            first.putIfAbsent(w.key(), n);
            weights.merge(w.key(), 1, Integer::sum);
        }
        List<Task> tasks = new ArrayList<>();
        int covered = 0;
        for (var e : workloads.entrySet()) {
            Node n = first.get(e.getKey());
            ConfigSpace space = OpInventory.space(n, g, target);
            if (space.size() <= 1) continue;
            int weight = weights.get(e.getKey());
            covered += weight;
            tasks.add(new Task(e.getValue(), n, g, space, weight, flops(n, g)));
        }
        return new Extracted(g, tasks, g.nodes().size(), covered);
    }

    /** The work of one run of {@code node}'s kernel ({@link Work#flops}). */
    public static double flops(Node node, Graph g) {
        return Work.flops(node, g);
    }
}
