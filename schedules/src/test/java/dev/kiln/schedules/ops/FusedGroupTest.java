package dev.kiln.schedules.ops;

import static dev.kiln.schedules.ops.OpHarness.AVX2;
import static dev.kiln.schedules.ops.OpHarness.AVX512;
import static dev.kiln.schedules.ops.OpHarness.rand;
import static dev.kiln.schedules.ops.OpHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.interp.Interpreter;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Vars;
import dev.kiln.targets.Target;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Fused groups against the reference evaluator: the graph is evaluated unfused, then fused with
 * FuseOps and run kernel by kernel through lowering and the loop-IR interpreter.
 */
class FusedGroupTest {
    /** A small graph: runtime inputs, constants and nodes added in order. */
    private static final class G {
        final Graph g = new Graph("fused");
        final Map<String, Tensor> inputs = new LinkedHashMap<>();

        G() {
            g.opsets().put("", 17);
        }

        G in(String name, Tensor t) {
            g.inputs().add(new Value(name, t.dtype(), t.shape()));
            inputs.put(name, t);
            return this;
        }

        G constant(String name, Tensor t) {
            g.initializers().put(name, t);
            return this;
        }

        G node(String op, List<String> ins, String out, Map<String, Attr> attrs) {
            g.nodes().add(new Node(op + "/" + g.nodes().size(), op, "", ins, List.of(out), attrs, 17));
            return this;
        }

        G node(String op, List<String> ins, String out) {
            return node(op, ins, out, Map.of());
        }

        /** Evaluates, fuses, runs every kernel on {@code target}; returns the fused graph's node bodies. */
        List<String> check(Target target, String... outputs) {
            g.outputs().addAll(List.of(outputs));
            ShapeInference.run(g);
            Map<String, Tensor> expected = Evaluator.run(g, inputs);
            FuseOps.run(g);
            run(target, expected, outputs);
            // The same fused groups as GPU kernels (the graph pipeline fuses the same way for a GPU).
            run(OpHarness.GPU, expected, outputs);
            return g.nodes().stream().map(n -> FuseOps.isFused(n) ? FuseOps.body(n).name() : n.op()).toList();
        }

        private void run(Target target, Map<String, Tensor> expected, String... outputs) {
            Map<String, Object> storage = new HashMap<>();
            inputs.forEach((k, v) -> storage.put(k, copy(v)));
            for (Node n : g.nodes()) {
                Kernel k = OpInventory.lower(n, g, target);
                if (target instanceof dev.kiln.targets.GpuTarget) OpHarness.checkGpuKernel(k);
                PrimFunc f = Pipeline.lower(k.func());
                List<Object> args = new ArrayList<>();
                for (String in : k.inputs()) {
                    Object s = storage.containsKey(in) ? storage.get(in) : copy(g.initializers().get(in));
                    if (s == null) fail("kernel input " + in + " has no value");
                    args.add(s);
                }
                for (int i = 0; i < k.outputs().size(); i++) {
                    Object s = Interpreter.newStorage(f.params().get(k.inputs().size() + i));
                    if (s instanceof float[] a) java.util.Arrays.fill(a, Float.NaN);
                    storage.put(k.outputs().get(i), s);
                    args.add(s);
                }
                Interpreter.run(f, args);
            }
            for (String o : outputs) {
                float[] want = expected.get(o).floats(), got = (float[]) storage.get(o);
                assertEquals(want.length, got.length);
                for (int i = 0; i < want.length; i++)
                    if (!(Math.abs(want[i] - got[i]) <= 1e-5 + 1e-4 * Math.abs(want[i])))
                        fail(o + ": element " + i + " is " + got[i] + ", expected " + want[i]);
            }
        }
    }

    private static Object copy(Tensor t) {
        return t.floats().clone();
    }

    private static Map<String, Attr> pads1() {
        return Map.of("pads", new Attr.Ints(new long[] {1, 1, 1, 1}));
    }

    @Test
    void convWithBiasAddAndReluIsOneKernel() {
        G g = new G().in("x", rand(1, 8, 6, 6)).in("skip", rand(1, 8, 6, 6))
                .constant("w", rand(8, 8, 3, 3)).constant("b", rand(8))
                .node("Conv", List.of("x", "w", "b"), "c", pads1())
                .node("Add", List.of("c", "skip"), "a")
                .node("Relu", List.of("a"), "y");
        assertEquals(List.of("Conv+Add+Relu"), g.check(AVX2, "y"));
    }

    @Test
    void everyElementwiseActivationFusesIntoAConv() {
        // The ops FuseOps once left out (they ran blocked but never fused) and other unary ones.
        for (String op : List.of("Elu", "Selu", "Softplus", "Mish", "Softsign", "Celu", "Sin", "Round", "Sign", "ThresholdedRelu",
                "Shrink", "PRelu")) {
            G g = new G().in("x", rand(1, 8, 5, 5)).constant("w", rand(8, 8, 3, 3)).constant("b", rand(8)).constant("slope", rand(1, 8, 1, 1))
                    .node("Conv", List.of("x", "w", "b"), "c", pads1())
                    .node(op, op.equals("PRelu") ? List.of("c", "slope") : List.of("c"), "y");
            assertEquals(List.of("Conv+" + op), g.check(AVX512, "y"), op);
        }
    }

    @Test
    void pointwiseConvWithChannelBiasAndClip() {
        // A 1x1 conv sees H*W as one axis; the per-channel Mul and Clip see [C][HW]: views that differ.
        G g = new G().in("x", rand(1, 16, 5, 7)).constant("w", rand(20, 16, 1, 1))
                .constant("scale", rand(1, 20, 1, 1)).constant("lo", scalar(0f)).constant("hi", scalar(1.5f))
                .node("Conv", List.of("x", "w"), "c")
                .node("Mul", List.of("c", "scale"), "m")
                .node("Clip", List.of("m", "lo", "hi"), "y");
        assertEquals(List.of("Conv+Mul+Clip"), g.check(AVX512, "y"));
    }

    @Test
    void depthwiseConvWithRelu6() {
        G g = new G().in("x", rand(1, 6, 7, 7)).constant("w", rand(6, 1, 3, 3)).constant("b", rand(6))
                .constant("lo", scalar(0f)).constant("hi", scalar(6f))
                .node("Conv", List.of("x", "w", "b"), "c", Map.of("group", new Attr.Int(6), "strides", new Attr.Ints(new long[] {2, 2}),
                        "pads", new Attr.Ints(new long[] {1, 1, 1, 1})))
                .node("Clip", List.of("c", "lo", "hi"), "y");
        assertEquals(List.of("Conv+Clip"), g.check(AVX2, "y"));
    }

    @Test
    void matMulWithBiasAndGeluChainIsOneKernel() {
        G g = new G().in("a", rand(2, 4, 16)).constant("w", rand(16, 24)).constant("bias", rand(24))
                .constant("sqrt2", scalar(1.4142135f)).constant("one", scalar(1f)).constant("half", scalar(0.5f))
                .node("MatMul", List.of("a", "w"), "m")
                .node("Add", List.of("bias", "m"), "x")
                .node("Div", List.of("x", "sqrt2"), "d")
                .node("Erf", List.of("d"), "e")
                .node("Add", List.of("e", "one"), "p")
                .node("Mul", List.of("x", "p"), "q")
                .node("Mul", List.of("q", "half"), "y");
        assertEquals(List.of("MatMul+Add+Div+Erf+Add+Mul+Mul"), g.check(AVX512, "y"));
    }

    @Test
    void elementwiseChainWithBroadcastInputs() {
        // The chain starts with an elementwise op; its other inputs broadcast along different axes.
        G g = new G().in("x", rand(3, 4, 5)).in("row", rand(5)).in("col", rand(3, 4, 1))
                .node("Sigmoid", List.of("x"), "s")
                .node("Mul", List.of("s", "row"), "m")
                .node("Sub", List.of("col", "m"), "d")
                .node("Tanh", List.of("d"), "y");
        assertEquals(List.of("Sigmoid+Mul+Sub+Tanh"), g.check(AVX2, "y"));
    }

    @Test
    void matMulWithBiasThenReshapeIntoHeadsAndAnAddInTheNewShape() {
        G g = new G().in("a", rand(1, 6, 8)).in("pos", rand(1, 6, 2, 1)).constant("w", rand(8, 8)).constant("bias", rand(8))
                .constant("shape", OpHarness.longs(1, 6, 2, 4))
                .node("MatMul", List.of("a", "w"), "m")
                .node("Add", List.of("m", "bias"), "x")
                .node("Reshape", List.of("x", "shape"), "r")
                .node("Add", List.of("r", "pos"), "y");
        assertEquals(List.of("MatMul+Add+Reshape+Add"), g.check(AVX512, "y"));
    }

    @Test
    void softmaxAnchorWithScale() {
        G g = new G().in("x", rand(2, 3, 10)).constant("k", scalar(0.25f))
                .node("Softmax", List.of("x"), "s", Map.of("axis", new Attr.Int(-1)))
                .node("Mul", List.of("s", "k"), "y");
        assertEquals(List.of("Softmax+Mul"), g.check(AVX2, "y"));
    }

    @Test
    void groupsAndPlainNodesRunTogether() {
        // Conv+Relu, then a pool that stays alone, then a residual-style Add+Relu over the pool's output.
        G g = new G().in("x", rand(1, 4, 8, 8)).constant("w", rand(4, 4, 3, 3))
                .node("Conv", List.of("x", "w"), "c", pads1())
                .node("Relu", List.of("c"), "r")
                .node("MaxPool", List.of("r"), "p", Map.of("kernel_shape", new Attr.Ints(new long[] {2, 2}),
                        "strides", new Attr.Ints(new long[] {2, 2})))
                .node("Relu", List.of("p"), "y");
        assertEquals(List.of("Conv+Relu", "MaxPool+Relu"), g.check(AVX2, "y"));
    }

    @Test
    void theEpilogueIsInlinedIntoTheAnchorsFinalNest() {
        G g = new G().in("x", rand(1, 16, 4, 4)).in("skip", rand(1, 16, 4, 4)).constant("w", rand(16, 16, 3, 3)).constant("b", rand(16))
                .node("Conv", List.of("x", "w", "b"), "c", pads1())
                .node("Add", List.of("c", "skip"), "a")
                .node("Relu", List.of("a"), "y");
        g.check(AVX512, "y");
        Kernel k = OpInventory.lower(g.g.nodes().getFirst(), g.g, AVX512);
        assertEquals(List.of("y"), k.outputs());
        assertTrue(k.inputs().containsAll(List.of("x", "b", "skip")), k.inputs().toString());
        // Allocations are the conv's own (padding, blocked result); the Add and Relu get no buffer of their own.
        List<String> allocated = new ArrayList<>();
        collectAllocations(k.func().body(), allocated);
        assertFalse(allocated.stream().anyMatch(n -> n.equals("a") || n.equals("c")), allocated.toString());
        assertTrue(Vars.loops(k.func().body()).stream().noneMatch(f -> f.var().name().startsWith("a.")), "no loop nest of its own for the Add");
    }

    private static void collectAllocations(Stmt s, List<String> out) {
        dev.kiln.irlow.transform.Children.forEach(s, c -> collectAllocations(c, out), e -> {});
        if (s instanceof Stmt.Allocate a) out.add(a.buffer().name());
    }
}
