package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.GraphPipeline;
import dev.kiln.frontend.ModelSource;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.passes.FuseOps;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The graph pipeline on the zoo's CNNs: every BatchNormalization folds into its conv, and every
 * conv absorbs its activation (and a residual Add), so the kernel count is what the architecture
 * dictates. That the results stay right is ZooModelsMatchOnnxRuntimeTest's job.
 */
class ZooGraphPassesTest {
    private static Stream<Node> flattened(Graph g) {
        return g.nodes().stream().flatMap(n -> FuseOps.isFused(n) ? FuseOps.body(n).nodes().stream() : Stream.of(n));
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "mobilenetv2"})
    void batchNormsFoldAndActivationsFuse(String model) {
        Graph g = GraphPipeline.run(ModelSource.load("zoo:" + model, Map.of()), dev.kiln.targets.Target.avx512(), (pass, graph) -> {});
        assertEquals(0, flattened(g).filter(n -> n.op().equals("BatchNormalization")).count(), "BatchNormalization left");
        List<Node> activations = g.nodes().stream().filter(n -> List.of("Relu", "Clip").contains(n.op())).toList();
        assertTrue(activations.isEmpty(), "unfused activations: " + activations.stream().map(Node::name).toList());
        // BlockLayout turns every conv into ConvNCHWc (kiln domain): convs stay blocked from the input to the classifier.
        assertEquals(0, flattened(g).filter(n -> n.op().equals("Conv")).count(), "convs left in NCHW");
        long convs = flattened(g).filter(n -> n.op().equals("ConvNCHWc")).count();
        assertEquals(2, g.nodes().stream().filter(n -> n.op().equals("ToBlocked") || n.op().equals("FromBlocked")).count(),
                "the layout changes once at the input and once before the classifier");
        long adds = g.nodes().stream().filter(n -> n.op().equals("Add")).count();
        assertEquals(0, adds, "every residual Add fuses into a conv");
        // Besides the convs: the layout edges, the pools, the flatten and the classifier.
        assertTrue(g.nodes().size() <= convs + 6, g.nodes().size() + " kernels for " + convs + " convs");
    }
}
