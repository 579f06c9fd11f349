package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.longs;
import static dev.kiln.schedules.ops.OpHarness.op;
import static dev.kiln.schedules.ops.OpHarness.rand;
import static dev.kiln.schedules.ops.OpHarness.randIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.schedules.space.Knob;
import dev.kiln.schedules.space.Knobs;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The config spaces of the schedule templates, as properties: any point of a kernel's space
 * computes what the reference evaluator computes (lowered, then run by the loop-IR
 * interpreter), every point declares the same knobs, the default point is the untuned kernel,
 * and a value outside the space is refused. One small workload per template, on each CPU target
 * and on a GPU (whose kernels must also have launch extents a backend can use).
 */
class ConfigSpaceTemplatesTest {
    private static final List<Target> TARGETS = List.of(Target.parse("x86_64-avx512"), Target.parse("x86_64-avx2"),
            Target.parse("aarch64-neon:neoverse-n1"), OpHarness.GPU);
    private static final int DRAWS = 8;

    /** One kernel: a node of a shape-inferred graph, its run-time inputs and the evaluator's outputs. */
    private record Workload(String name, Graph graph, Node node, Map<String, Tensor> inputs, Map<String, Tensor> expected) {
        static Workload of(String name, OpHarness h) {
            Graph g = h.graph();
            return new Workload(name, g, g.nodes().getFirst(), h.inputs(), Evaluator.run(g, h.inputs()));
        }

        ConfigSpace space(Target t) {
            return OpInventory.space(node, graph, t);
        }
    }

    /** Sigmoid, Mul, Sub, Tanh fused into one injective kernel; the Mul and Sub broadcast along different axes. */
    private static Workload elementwiseChain() {
        Graph g = new Graph("chain");
        g.opsets().put("", 17);
        Map<String, Tensor> in = new LinkedHashMap<>(Map.of("x", rand(4, 6, 10), "row", rand(10), "col", rand(4, 6, 1)));
        in.forEach((n, t) -> g.inputs().add(new Value(n, t.dtype(), t.shape())));
        g.nodes().add(new Node("Sigmoid/0", "Sigmoid", "", List.of("x"), List.of("s"), Map.of(), 17));
        g.nodes().add(new Node("Mul/1", "Mul", "", List.of("s", "row"), List.of("m"), Map.of(), 17));
        g.nodes().add(new Node("Sub/2", "Sub", "", List.of("col", "m"), List.of("d"), Map.of(), 17));
        g.nodes().add(new Node("Tanh/3", "Tanh", "", List.of("d"), List.of("y"), Map.of(), 17));
        g.outputs().add("y");
        ShapeInference.run(g);
        Map<String, Tensor> expected = Evaluator.run(g, in);
        FuseOps.run(g);
        assertEquals(1, g.nodes().size(), "the chain fuses into one kernel");
        return new Workload("elementwise chain", g, g.nodes().getFirst(), in, expected);
    }

    private static List<Workload> workloads;

    private static synchronized List<Workload> workloads() {
        if (workloads == null) workloads = List.of(
                elementwiseChain(),
                Workload.of("broadcast add", op("Add").in(rand(2, 3, 8, 12)).in(rand(3, 1, 1))),
                Workload.of("reduce last axis", op("ReduceMean").ints("axes", 1).in(rand(5, 13))),
                Workload.of("reduce middle axis", op("ReduceSum").in(rand(3, 7, 40)).constant(longs(1))),
                Workload.of("gemm transB (rfactor)", op("Gemm").attr("transB", 1L).in(rand(3, 32)).in(rand(12, 32)).in(rand(12))),
                Workload.of("max pool", op("MaxPool").ints("kernel_shape", 3, 3).ints("pads", 1, 1, 1, 1).in(rand(1, 3, 9, 20))),
                Workload.of("average pool", op("AveragePool").ints("kernel_shape", 2, 2).ints("strides", 2, 2).in(rand(1, 2, 8, 12))),
                Workload.of("softmax", op("Softmax").attr("axis", -1L).in(rand(6, 32))),
                Workload.of("layer norm", op("LayerNormalization").attr("axis", -1L).in(rand(4, 48)).constant(rand(48)).constant(rand(48))),
                Workload.of("matmul packed B", op("MatMul").in(randIn(-0.5, 0.5, 6, 96)).constant(rand(96, 48))),
                Workload.of("batched matmul", op("MatMul").in(rand(2, 6, 8)).in(rand(2, 8, 32))),
                Workload.of("matmul odd N", op("MatMul").in(rand(6, 5)).in(rand(5, 20))));
        return workloads;
    }

    private static Stream<DynamicTest> perWorkload(java.util.function.BiConsumer<Workload, Target> check) {
        List<DynamicTest> tests = new ArrayList<>();
        for (Workload w : workloads())
            for (Target t : TARGETS) tests.add(DynamicTest.dynamicTest(w.name() + " on " + t.name(), () -> check.accept(w, t)));
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> randomConfigsComputeWhatTheEvaluatorComputes() {
        return perWorkload((w, t) -> {
            ConfigSpace space = w.space(t);
            assertFalse(space.knobs().isEmpty(), w.name() + " declares no knobs");
            Random rng = new Random(w.name().hashCode() * 31L + t.name().hashCode());
            Set<PrimFunc> distinct = new HashSet<>();
            for (int d = 0; d < DRAWS; d++) {
                Config c = space.random(rng);
                Knobs knobs = Knobs.of(c);
                Kernel k = OpInventory.lower(w.node(), w.graph(), t, knobs);
                assertEquals(space, knobs.space(), w.name() + ": config " + c + " declares other knobs than the default");
                assertEquals(c, knobs.config(), w.name() + ": the config used is not the one given");
                OpHarness.checkReduceLoopsStaySerial(OpInventory.compute(w.node(), w.graph(), t), k);
                if (t instanceof dev.kiln.targets.GpuTarget) OpHarness.checkGpuKernel(k);
                OpHarness.runAndCompare(w.name() + " on " + t.name() + " with " + c, k, w.graph(), w.inputs(), w.expected());
                distinct.add(k.func());
            }
            if (space.size() > 1) assertTrue(distinct.size() > 1, w.name() + ": " + DRAWS + " configs of " + space + " gave one kernel");
        });
    }

    @TestFactory
    Stream<DynamicTest> theDefaultPointIsTheUntunedKernel() {
        return perWorkload((w, t) -> {
            ConfigSpace space = w.space(t);
            for (Knob k : space.knobs()) assertTrue(k.values().contains(k.defaultValue()), k.name());
            Kernel tuned = OpInventory.lower(w.node(), w.graph(), t, Knobs.of(space.defaults()));
            assertEquals(OpInventory.lower(w.node(), w.graph(), t).func(), tuned.func(), w.name());
        });
    }

    @TestFactory
    Stream<DynamicTest> everyPointDeclaresTheSameKnobs() {
        // Lowering only (no interpreter), so many points: up to 64 spread over the whole space.
        return perWorkload((w, t) -> {
            ConfigSpace space = w.space(t);
            long n = space.size(), step = Math.max(1, n / 64);
            for (long i = 0; i < n; i += step) {
                Knobs knobs = Knobs.of(space.get(i));
                OpInventory.lower(w.node(), w.graph(), t, knobs);
                assertEquals(space.knobs().stream().map(Knob::name).toList(), knobs.space().knobs().stream().map(Knob::name).toList(),
                        w.name() + " point " + i);
                assertEquals(space, knobs.space(), w.name() + " point " + i);
            }
        });
    }

    @Test
    void knobNamesAreScopedByCompute() {
        // Softmax materializes several computes (max and sum in lanes, their lane reductions, the output).
        Workload w = workloads().stream().filter(x -> x.name().equals("softmax")).findFirst().orElseThrow();
        Set<String> scopes = new HashSet<>();
        for (Knob k : w.space(TARGETS.getFirst()).knobs()) {
            assertTrue(k.name().matches("\\d+\\.[a-z_]+"), k.name());
            scopes.add(k.name().substring(0, k.name().indexOf('.')));
        }
        assertTrue(scopes.size() > 1, scopes.toString());
    }

    @Test
    void aValueOutsideTheSpaceIsRefusedNamingTheKnob() {
        Workload w = workloads().stream().filter(x -> x.name().equals("batched matmul")).findFirst().orElseThrow();
        Target t = TARGETS.getFirst();
        ConfigSpace space = w.space(t);
        Knob rows = space.knob("0.row_block");
        Config bad = space.defaults().with(rows.name(), 5);      // 5 does not divide M = 6
        var e = assertThrows(IllegalArgumentException.class, () -> OpInventory.lower(w.node(), w.graph(), t, Knobs.of(bad)));
        assertTrue(e.getMessage().contains("0.row_block") && e.getMessage().contains("5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> space.check(bad));
        assertTrue(e.getMessage().contains("0.row_block"), e.getMessage());

        Map<String, Long> missing = new LinkedHashMap<>(space.defaults().values());
        missing.remove("0.vector_block");
        e = assertThrows(IllegalArgumentException.class, () -> OpInventory.lower(w.node(), w.graph(), t, Knobs.of(new Config(missing))));
        assertTrue(e.getMessage().contains("0.vector_block"), e.getMessage());
    }

    @Test
    void configsRoundTripThroughTheirText() {
        Workload w = workloads().stream().filter(x -> x.name().equals("matmul packed B")).findFirst().orElseThrow();
        ConfigSpace space = w.space(TARGETS.getLast());
        Config c = space.random(new Random(7));
        Config back = Config.parse(c.toString());
        assertEquals(c, back);
        assertEquals(OpInventory.lower(w.node(), w.graph(), TARGETS.getLast(), Knobs.of(c)).func(),
                OpInventory.lower(w.node(), w.graph(), TARGETS.getLast(), Knobs.of(back)).func());
    }
}
