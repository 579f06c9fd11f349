package dev.kiln.schedules.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.ShapeInference;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.irhigh.passes.BoundedOutputs;
import dev.kiln.irhigh.passes.FuseOps;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.targets.Target;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Kernels rebuilt from their workload text: the same key, the same config space and default
 * config as the kernel the text was printed from (correctness); text that is not a workload's,
 * or that names what the text cannot carry, is an IllegalArgumentException saying what (error).
 */
class WorkloadGraphTest {
    private static final Target AVX512 = Target.parse("x86_64-avx512");
    private static final Target CUDA = Target.parse("cuda-sm80");

    /** A shape-inferred graph: inputs, constants and nodes added in order, the last node's outputs the graph's. */
    private static final class G {
        final Graph g = new Graph("test");

        G() {
            g.opsets().put("", 17);
        }

        G in(String name, DType t, long... dims) {
            g.inputs().add(new Value(name, t, Shape.of(dims)));
            return this;
        }

        G constant(String name, Tensor t) {
            g.initializers().put(name, t);
            return this;
        }

        G node(String op, List<String> ins, List<String> outs, Map<String, Attr> attrs) {
            return node(op, ins, outs, attrs, 17);
        }

        G node(String op, List<String> ins, List<String> outs, Map<String, Attr> attrs, int opset) {
            g.nodes().add(new Node(op + "/" + g.nodes().size(), op, "", ins, outs, attrs, opset));
            return this;
        }

        Graph done() {
            g.outputs().addAll(g.nodes().getLast().outputs());
            ShapeInference.run(g);
            return g;
        }
    }

    private static Tensor randomFloats(long... dims) {
        Random r = new Random(7);
        return Tensor.generate(DType.FLOAT32, Shape.of(dims), i -> r.nextGaussian());
    }

    private static Attr ints(long... v) {
        return new Attr.Ints(v);
    }

    /** Rebuilds {@code node}'s workload and checks it against the original on {@code target}; returns the rebuilt kernel. */
    private static WorkloadGraph.Rebuilt roundTrip(Node node, Graph g, Target target) {
        Workload w = Workload.of(node, g, target);
        WorkloadGraph.Rebuilt r = WorkloadGraph.rebuild(w.canonical());
        assertEquals(w.key(), r.workload().key(), w.canonical());
        assertEquals(w.canonical(), r.workload().canonical());
        assertEquals(List.of(r.node()), r.graph().nodes());
        assertEquals(node.op(), r.node().op());
        ConfigSpace original = OpInventory.space(node, g, target), rebuilt = r.space();
        assertEquals(original, rebuilt, "config space of " + w.description());
        assertEquals(original.defaults().toString(), rebuilt.defaults().toString());
        assertEquals(original, WorkloadGraph.space(w.canonical(), w.key()));
        return r;
    }

    private static Graph conv() {
        return new G().in("x", DType.FLOAT32, 1, 16, 14, 14)
                .constant("w", randomFloats(32, 16, 3, 3)).constant("b", randomFloats(32))
                .node("Conv", List.of("x", "w", "b"), List.of("y"), Map.of("kernel_shape", ints(3, 3), "pads", ints(1, 1, 1, 1),
                        "strides", ints(2, 2)))
                .done();
    }

    @Test
    void plainConv() {
        Graph g = conv();
        for (Target t : List.of(AVX512, CUDA)) {
            WorkloadGraph.Rebuilt r = roundTrip(g.nodes().getFirst(), g, t);
            assertTrue(r.space().size() > 1, "a conv has knobs to tune");
            assertEquals(List.of("in0"), r.graph().inputs().stream().map(Value::name).toList());
            assertEquals(List.of("in1", "in2"), List.copyOf(r.graph().initializers().keySet().stream().filter(k -> k.matches("in\\d+")).toList()));
            assertEquals(Shape.of(32, 16, 3, 3), r.graph().initializers().get("in1").shape());
            assertEquals(Shape.of(1, 32, 7, 7), r.graph().value(r.node().output(0)).shape());
        }
    }

    @Test
    void fusedConvBiasRelu() {
        Graph g = new G().in("x", DType.FLOAT32, 1, 8, 16, 16)
                .constant("w", randomFloats(16, 8, 3, 3)).constant("bias", randomFloats(1, 16, 1, 1))
                .node("Conv", List.of("x", "w"), List.of("c"), Map.of("kernel_shape", ints(3, 3), "pads", ints(1, 1, 1, 1)))
                .node("Add", List.of("c", "bias"), List.of("a"), Map.of())
                .node("Relu", List.of("a"), List.of("y"), Map.of())
                .done();
        FuseOps.run(g);
        Node fused = g.nodes().getFirst();
        assertTrue(FuseOps.isFused(fused));
        for (Target t : List.of(AVX512, CUDA)) {
            WorkloadGraph.Rebuilt r = roundTrip(fused, g, t);
            assertTrue(FuseOps.isFused(r.node()));
            assertEquals(List.of("Conv", "Add", "Relu"), FuseOps.body(r.node()).nodes().stream().map(Node::op).toList());
            assertEquals(List.of("in1", "in2"), List.copyOf(FuseOps.body(r.node()).initializers().keySet()).subList(0, 2));
        }
    }

    /** The int8 kernel's workload carries A's dtype and the constant weight and zero points, so tuning records rebuild it. */
    @Test
    void int8MatMulWithConstantWeights() {
        Random r = new Random(3);
        for (DType a : List.of(DType.UINT8, DType.INT8)) {
            Graph g = new G().in("x", a, 6, 200).in("xzp", a)
                    .constant("w", Tensor.generate(DType.INT8, Shape.of(200, 70), i -> r.nextInt(256) - 128))
                    .constant("wzp", Tensor.generate(DType.INT8, Shape.of(70), i -> r.nextInt(256) - 128)).g;
            g.nodes().add(new Node("q", dev.kiln.irhigh.ops.Int8MatMul.OP, dev.kiln.irhigh.ops.Int8MatMul.DOMAIN,
                    List.of("x", "w", "xzp", "wzp"), List.of("y"), Map.of(), 17));
            g.outputs().add("y");
            ShapeInference.run(g);
            Target vnni = Target.parse("x86_64-avx512-vnni");
            WorkloadGraph.Rebuilt rebuilt = roundTrip(g.nodes().getFirst(), g, vnni);
            assertTrue(rebuilt.workload().canonical().contains(a.toString()), rebuilt.workload().canonical());
            assertTrue(rebuilt.space().size() > 1, "tile and loop order are knobs");
            assertTrue(rebuilt.graph().isConstant("in1"), "the weight stays a constant, so the kernel can pack it");
        }
    }

    /** The int8 conv's workload carries X's dtype, the attributes and the constant weight, so tuning records rebuild it. */
    @Test
    void int8ConvWithConstantWeights() {
        Random r = new Random(4);
        for (DType a : List.of(DType.UINT8, DType.INT8)) {
            Graph g = new G().in("x", a, 1, 6, 9, 20).in("xzp", a)
                    .constant("w", Tensor.generate(DType.INT8, Shape.of(5, 6, 3, 3), i -> r.nextInt(256) - 128)).g;
            g.nodes().add(new Node("c", dev.kiln.irhigh.ops.Int8Conv.OP, dev.kiln.irhigh.ops.Int8Conv.DOMAIN,
                    List.of("x", "w", "xzp"), List.of("y"), Map.of("pads", new dev.kiln.irhigh.Attr.Ints(new long[] {1, 1, 1, 1}),
                    "strides", new dev.kiln.irhigh.Attr.Ints(new long[] {2, 1})), 17));
            g.outputs().add("y");
            ShapeInference.run(g);
            Target vnni = Target.parse("x86_64-avx512-vnni");
            WorkloadGraph.Rebuilt rebuilt = roundTrip(g.nodes().getFirst(), g, vnni);
            assertTrue(rebuilt.workload().canonical().contains(a.toString()), rebuilt.workload().canonical());
            assertTrue(rebuilt.space().size() > 1 && rebuilt.space().knob("pixels") != null, "tile, loop order and pixels are knobs");
            assertTrue(rebuilt.graph().isConstant("in1"), "the weight stays a constant, so the kernel can pack it");
        }
    }

    /** The bf16 kernel's workload keeps the weight and the bias constant, so tuning records rebuild it with its packing. */
    @Test
    void bf16MatMulWithConstantWeightsAndBias() {
        Graph g = new G().in("x", DType.FLOAT32, 6, 200).constant("w", randomFloats(200, 70)).constant("b", randomFloats(70)).g;
        g.nodes().add(new Node("p", dev.kiln.irhigh.ops.Bf16MatMul.OP, dev.kiln.irhigh.ops.Bf16MatMul.DOMAIN,
                List.of("x", "w", "b"), List.of("y"), Map.of(), 17));
        g.outputs().add("y");
        ShapeInference.run(g);
        Target bf16 = dev.kiln.targets.CpuTarget.avx512Vnni().withFeature(dev.kiln.targets.CpuTarget.BF16_FEATURE);
        WorkloadGraph.Rebuilt rebuilt = roundTrip(g.nodes().getFirst(), g, bf16);
        assertTrue(rebuilt.workload().canonical().contains("Bf16MatMul"), rebuilt.workload().canonical());
        assertTrue(rebuilt.space().size() > 1, "tile and loop order are knobs");
        assertTrue(rebuilt.graph().isConstant("in1") && rebuilt.graph().isConstant("in2"), "weight and bias stay constants");
    }

    /** The bf16 conv's workload keeps its blocked shapes, attributes and constant weight and bias. */
    @Test
    void bf16ConvOnTheBlockedLayout() {
        Graph g = new G().in("x", DType.FLOAT32, 1, 2, 9, 9, 16).constant("w", randomFloats(48, 32, 3, 3)).constant("b", randomFloats(48)).g;
        g.nodes().add(new Node("c", dev.kiln.irhigh.ops.Bf16Conv.OP, dev.kiln.irhigh.ops.Bf16Conv.DOMAIN, List.of("x", "w", "b"), List.of("y"),
                Map.of("pads", new dev.kiln.irhigh.Attr.Ints(new long[] {1, 1, 1, 1}), "strides", new dev.kiln.irhigh.Attr.Ints(new long[] {2, 2}),
                        "block", new dev.kiln.irhigh.Attr.Int(16), "channels", new dev.kiln.irhigh.Attr.Int(32)), 17));
        g.outputs().add("y");
        ShapeInference.run(g);
        Target bf16 = dev.kiln.targets.CpuTarget.avx512Vnni().withFeature(dev.kiln.targets.CpuTarget.BF16_FEATURE);
        WorkloadGraph.Rebuilt rebuilt = roundTrip(g.nodes().getFirst(), g, bf16);
        assertTrue(rebuilt.workload().canonical().contains("Bf16Conv"), rebuilt.workload().canonical());
        assertTrue(rebuilt.space().size() > 1, "tile and loop order are knobs");
        assertTrue(rebuilt.graph().isConstant("in1") && rebuilt.graph().isConstant("in2"), "weight and bias stay constants");
    }

    @Test
    void matMulWithConstantWeights() {
        Graph g = new G().in("x", DType.FLOAT32, 8, 256).constant("w", randomFloats(256, 128))
                .node("MatMul", List.of("x", "w"), List.of("y"), Map.of()).done();
        WorkloadGraph.Rebuilt r = roundTrip(g.nodes().getFirst(), g, AVX512);
        assertTrue(r.graph().isConstant("in1"), "the weight stays a constant, so the packed template applies");
        assertTrue(r.space().size() > 1);
    }

    @Test
    void maxPool() {
        Graph g = new G().in("x", DType.FLOAT32, 1, 32, 28, 28)
                .node("MaxPool", List.of("x"), List.of("y"), Map.of("kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1)))
                .done();
        roundTrip(g.nodes().getFirst(), g, AVX512);
        roundTrip(g.nodes().getFirst(), g, CUDA);
    }

    @Test
    void smallIntegerConstantsKeepTheirValues() {
        Graph g = new G().in("x", DType.FLOAT32, 2, 3, 4).constant("shape", Tensor.ofLongs(Shape.of(2), 6, 4))
                .node("Reshape", List.of("x", "shape"), List.of("y"), Map.of()).done();
        WorkloadGraph.Rebuilt r = roundTrip(g.nodes().getFirst(), g, AVX512);
        assertArrayEquals(new long[] {6, 4}, r.graph().initializers().get("in1").toLongArray());
    }

    @Test
    void resizeScalesComeBackFromTheShapes() {
        Graph g = new G().in("x", DType.FLOAT32, 1, 3, 8, 8)
                .constant("roi", Tensor.ofFloats(Shape.of(0))).constant("scales", Tensor.ofFloats(Shape.of(4), 1, 1, 2, 2))
                .node("Resize", List.of("x", "roi", "scales"), List.of("y"), Map.of("mode", new Attr.Str("linear"))).done();
        WorkloadGraph.Rebuilt r = roundTrip(g.nodes().getFirst(), g, AVX512);
        assertArrayEquals(new float[] {1, 1, 2, 2}, r.graph().initializers().get("in2").floats());
    }

    /** The text has no opset: an attribute that later opsets took as an input says which form the node has. */
    @Test
    void legacyFormsRebuildAtTheirOpset() {
        Graph slice = new G().in("x", DType.FLOAT32, 4, 10)
                .node("Slice", List.of("x"), List.of("y"), Map.of("starts", ints(1), "ends", ints(7), "axes", ints(1)), 9).done();
        assertEquals(9, roundTrip(slice.nodes().getFirst(), slice, AVX512).node().opset());
        Graph squeeze = new G().in("x", DType.FLOAT32, 4, 1, 10)
                .node("Squeeze", List.of("x"), List.of("y"), Map.of("axes", ints(1)), 11).done();
        assertEquals(11, roundTrip(squeeze.nodes().getFirst(), squeeze, AVX512).node().opset());
        Graph clip = new G().in("x", DType.FLOAT32, 4, 10)
                .node("Clip", List.of("x"), List.of("y"), Map.of("min", new Attr.Float(0f), "max", new Attr.Float(6f)), 6).done();
        assertEquals(6, roundTrip(clip.nodes().getFirst(), clip, AVX512).node().opset());
    }

    @Test
    void companionShapeOutputsOfDataDependentOps() {
        Graph g = new G().in("x", DType.FLOAT32, 4, 5).node("NonZero", List.of("x"), List.of("y"), Map.of()).done();
        BoundedOutputs.run(g);
        WorkloadGraph.Rebuilt r = roundTrip(g.nodes().getFirst(), g, AVX512);
        assertEquals(List.of("v0.0", "v0.0:shape"), r.node().outputs());
    }

    // ---- error: text that is not a workload's, or holds what cannot be rebuilt ----

    private static String convText() {
        Graph g = conv();
        return Workload.of(g.nodes().getFirst(), g, AVX512).canonical();
    }

    private static void refused(String text, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkloadGraph.rebuild(text), text);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should say '" + expected + "'");
    }

    @Test
    void truncatedText() {
        String t = convText();
        refused(t.substring(0, t.length() - 1), "does not end with a newline");
        refused(t.substring(0, t.indexOf("Conv(")), "no op line");
        refused(t.substring(0, t.indexOf("out ")), "no 'out' line");
        refused("", "does not end with a newline");
        refused("\n", "target NAME");
        assertThrows(IllegalArgumentException.class, () -> WorkloadGraph.rebuild(null));
    }

    @Test
    void unknownOpAndTarget() {
        String t = convText();
        refused(t.replace("Conv(", "Convolution("), "unknown op");
        refused(t.replace("Conv(", "com.acme.Conv("), "unknown op");
        refused(t.replace("target x86_64-avx512", "target x86_64-avx9000"), "target 'x86_64-avx9000'");
        refused(t.replace("target x86_64-avx512", "target host"), "stands for this machine's");
        refused(t.replace("target x86_64-avx512", "target cuda"), "stands for this machine's");
        refused(t.replace("target x86_64-avx512", "target X86_64-AVX512"), "full name");
    }

    @Test
    void badShapes() {
        String t = convText();
        refused(t.replace("[1,16,14,14]", "[1,-16,14,14]"), "dimension -16 is outside");
        refused(t.replace("[1,16,14,14]", "[1,16,14,x]"), "not an integer");
        refused(t.replace("[1,16,14,14]", "[1,16,14,99999999999]"), "outside");
        refused(t.replace("[1,16,14,14]", "[1,16,14]"), "cannot rebuild");
        refused(t.replace("[1,16,14,14]", "[1" + ",1".repeat(40) + "]"), "rank 41");
        refused(t.replace("[1,16,14,14]", "[65536,65536,65536]"), "more than");
        refused(t.replace("out FLOAT32 [1,32,7,7]", "out FLOAT32 [1,32,8,8]"), "declared as");
        refused(t.replace("FLOAT32", "FLOAT33"), "unknown dtype");
    }

    @Test
    void hugeConstants() {
        String t = convText().replace("in1 FLOAT32 [32,16,3,3] const", "in1 FLOAT32 [32,16,1024,1024] const");
        refused(t, "constants hold more than " + WorkloadGraph.MAX_CONSTANT_ELEMENTS);
        refused("x".repeat(WorkloadGraph.MAX_TEXT_BYTES + 1), "at most " + WorkloadGraph.MAX_TEXT_BYTES);
    }

    @Test
    void attributesTheTextCannotCarry() {
        String base = "target x86_64-avx512\nin0 INT64 [2] const [2,3]\n";
        refused(base + "ConstantOfShape(in0) value=Tensor(float32[1]: 1.0)#-1083129856\nout FLOAT32 [2,3]\n", "is a tensor");
        refused(base + "ConstantOfShape(in0) value=t#123\nout FLOAT32 [2,3]\n", "is a tensor");
        refused("target x86_64-avx512\nin0 BOOL []\nIf(in0) else_branch=<graph> then_branch=<graph>\nout FLOAT32 [2]\n", "is a graph");
    }

    @Test
    void textThatDoesNotPrintBack() {
        String t = convText();
        // A float that Float.toString would print otherwise, an attribute out of order, a constant's values left out.
        refused(t.replace("kernel_shape=[3, 3]", "kernel_shape=[3,3]"), "");
        refused(t.replace(" kernel_shape=[3, 3] pads=[1, 1, 1, 1]", " pads=[1, 1, 1, 1] kernel_shape=[3, 3]"), "does not print back");
        Graph g = new G().in("x", DType.FLOAT32, 2, 3, 4).constant("shape", Tensor.ofLongs(Shape.of(2), 6, 4))
                .node("Reshape", List.of("x", "shape"), List.of("y"), Map.of()).done();
        String reshape = Workload.of(g.nodes().getFirst(), g, AVX512).canonical();
        refused(reshape.replace(" const [6,4]", " const"), "values are missing");
        refused(reshape.replace(" const [6,4]", " const [6,4,1]"), "lists 3 values");
        refused(reshape.replace("Reshape(in0,in1)", "Reshape(in0,in7)"), "no input in7");
        refused(reshape.replace("Reshape(in0,in1)", "Reshape(in0,v0.0)"), "not the output of an earlier op");
    }

    @Test
    void opsTheCompilerWouldNotGroup() {
        String text = "target x86_64-avx512\nin0 FLOAT32 [1,8,8,8]\nin1 FLOAT32 [8,8,1,1] const\n"
                + "Conv(in0,in1) kernel_shape=[1, 1]\nConv(v0.0,in1) kernel_shape=[1, 1]\nout FLOAT32 [1,8,8,8]\n";
        refused(text, "are not one kernel");
    }

    /** Random edits of real workload texts: each rebuilds to exactly the edited text or is an IllegalArgumentException. */
    @Test
    void mutatedTextOnlyEverFailsWithIllegalArgument() {
        Graph fusedGraph = new G().in("x", DType.FLOAT32, 1, 8, 16, 16)
                .constant("w", randomFloats(16, 8, 3, 3)).constant("bias", randomFloats(1, 16, 1, 1))
                .node("Conv", List.of("x", "w"), List.of("c"), Map.of("kernel_shape", ints(3, 3), "pads", ints(1, 1, 1, 1)))
                .node("Add", List.of("c", "bias"), List.of("a"), Map.of())
                .node("Relu", List.of("a"), List.of("y"), Map.of())
                .done();
        FuseOps.run(fusedGraph);
        List<String> texts = List.of(convText(), Workload.of(fusedGraph.nodes().getFirst(), fusedGraph, AVX512).canonical());
        String alphabet = "0123456789[],.() =_-\"\nabcinvoutconstFLOAT32INT64BOOLConvAddReluReshapeE";
        Random rng = new Random(11);
        int rebuilt = 0;
        for (int trial = 0; trial < 600; trial++) {
            StringBuilder s = new StringBuilder(texts.get(trial % texts.size()));
            for (int edits = 1 + rng.nextInt(3); edits > 0 && !s.isEmpty(); edits--) {
                int at = rng.nextInt(s.length());
                switch (rng.nextInt(3)) {
                    case 0 -> s.deleteCharAt(at);
                    case 1 -> s.insert(at, alphabet.charAt(rng.nextInt(alphabet.length())));
                    default -> s.setCharAt(at, alphabet.charAt(rng.nextInt(alphabet.length())));
                }
            }
            String text = s.toString();
            try {
                WorkloadGraph.Rebuilt r = WorkloadGraph.rebuild(text);
                assertEquals(text, r.workload().canonical());
                rebuilt++;
                try {
                    r.space();
                } catch (IllegalArgumentException expected) {
                    // a kernel the templates refuse is reported as such
                }
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank());
            } catch (RuntimeException e) {
                fail("edited text\n" + text + "\nthrew " + e, e);
            }
        }
        assertTrue(rebuilt > 0 && rebuilt < 600, rebuilt + " of 600 edited texts rebuilt: some edits (a dimension, an attribute value) still make a kernel, most do not");
    }

    @Test
    void keyChecked() {
        Graph g = conv();
        Workload w = Workload.of(g.nodes().getFirst(), g, AVX512);
        String t = w.canonical(), key = w.key();
        ConfigSpace space = WorkloadGraph.space(t, key);
        space.check(Config.parse(space.defaults().toString()));
        assertThrows(IllegalArgumentException.class, () -> WorkloadGraph.space(t, key.replace('-', '_')));
    }
}
