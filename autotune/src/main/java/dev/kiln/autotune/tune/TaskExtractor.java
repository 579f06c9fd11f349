package dev.kiln.autotune.tune;

import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.schedules.ops.OpInventory;
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
        return extract(passes.apply(ModelSource.load(model, inputShapes)), target);
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

    /**
     * Floating-point operations of one run of a kernel: 2 x multiply-adds for a convolution or
     * matrix product (the largest one of a fused group), else one per output element.
     */
    public static double flops(Node node, Graph g) {
        double outputs = 0;
        for (String o : node.outputs()) if (!o.isEmpty()) outputs += g.value(o).shape().numel();
        if (FuseOps.isFused(node)) {
            Graph body = FuseOps.body(node);
            double best = 0;
            for (Node n : body.nodes()) best = Math.max(best, productFlops(n, body, g));
            return best > 0 ? best : outputs;
        }
        double p = productFlops(node, g, g);
        return p > 0 ? p : outputs;
    }

    /** 2 x MACs of a Conv, MatMul or Gemm node (values looked up in {@code scope}, then {@code g}); 0 for other ops. */
    private static double productFlops(Node n, Graph scope, Graph g) {
        String op = n.op();
        if (n.outputs().isEmpty() || n.output(0).isEmpty()) return 0;
        if ((op.equals("Conv") || op.equals("ConvNCHWc")) && n.inputs().size() >= 2) {
            // Every output pixel (batch x spatial positions) multiplies with every weight once.
            long[] out = value(n.output(0), scope, g).shape().longDims();
            double weights = value(n.input(1), scope, g).shape().numel();
            double pixels = out.length >= 1 ? out[0] : 1;
            for (int i = 2; i < out.length && (out.length < 5 || i < out.length - 1); i++) pixels *= out[i];
            return 2 * pixels * weights;
        }
        if (op.equals("MatMul") || op.equals("Gemm")) {
            long[] a = value(n.input(0), scope, g).shape().longDims();
            if (a.length == 0) return 0;
            double outputs = value(n.output(0), scope, g).shape().numel();
            long k = op.equals("Gemm") && n.attrInt("transA", 0) != 0 ? a[0] : a[a.length - 1];
            return 2 * outputs * k;
        }
        return 0;
    }

    private static Value value(String name, Graph scope, Graph g) {
        return scope.values().containsKey(name) || scope.initializers().containsKey(name) ? scope.value(name) : g.value(name);
    }
}
