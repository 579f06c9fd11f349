package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compare;
import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.targets.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * LSTM, GRU and RNN with the attributes the ONNX backend cases leave out (both directions,
 * reverse, clip, other activation functions with alpha and beta, sequence lengths shorter than
 * the sequence, layout 1 with initial states, peepholes, input_forget, linear_before_reset,
 * hidden sizes that are no multiple of the register panel): the native library and the
 * reference evaluator both give ONNX Runtime's outputs, every output of the node.
 */
class RecurrentLayersMatchOnnxRuntimeTest {
    private static final int STEPS = 7, BATCH = 3, FEATURES = 10;

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("lstm_bidirectional_peepholes_lengths_clip", "LSTM", 20,
                        Map.of("direction", new Attr.Str("bidirectional"), "clip", new Attr.Float(2.5f)), true, true, true, 0),
                Arguments.of("lstm_reverse_activations_input_forget", "LSTM", 33,
                        Map.of("direction", new Attr.Str("reverse"), "input_forget", new Attr.Int(1),
                                "activations", new Attr.Strs(List.of("HardSigmoid", "LeakyRelu", "Softsign")),
                                "activation_alpha", new Attr.Floats(new float[] {0.3f, 0.05f}),
                                "activation_beta", new Attr.Floats(new float[] {0.4f})), false, true, false, 0),
                Arguments.of("lstm_layout1_bidirectional_states", "LSTM", 16,
                        Map.of("direction", new Attr.Str("bidirectional"), "layout", new Attr.Int(1)), true, false, false, 1),
                Arguments.of("gru_bidirectional_lengths", "GRU", 20,
                        Map.of("direction", new Attr.Str("bidirectional")), true, true, false, 0),
                Arguments.of("gru_linear_before_reset_reverse_clip", "GRU", 70,
                        Map.of("direction", new Attr.Str("reverse"), "linear_before_reset", new Attr.Int(1), "clip", new Attr.Float(1.5f),
                                "activations", new Attr.Strs(List.of("Sigmoid", "ScaledTanh")),
                                "activation_alpha", new Attr.Floats(new float[] {0.8f}), "activation_beta", new Attr.Floats(new float[] {1.2f})),
                        true, false, false, 0),
                Arguments.of("gru_layout1_states", "GRU", 9, Map.of("layout", new Attr.Int(1)), true, true, false, 1),
                Arguments.of("rnn_bidirectional_activations_lengths", "RNN", 24,
                        Map.of("direction", new Attr.Str("bidirectional"), "activations", new Attr.Strs(List.of("Relu", "Affine")),
                                "activation_alpha", new Attr.Floats(new float[] {0.5f}), "activation_beta", new Attr.Floats(new float[] {0.1f})),
                        true, true, false, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesOnnxRuntime(String name, String op, int hidden, Map<String, Attr> attrs, boolean states, boolean lengths,
                            boolean peepholes, int layout) throws Exception {
        Graph g = model(name, op, hidden, attrs, states, lengths, peepholes, layout);
        byte[] onnx = OnnxWriter.write(g, OnnxWriter.IR_VERSION);
        Path file = dir.resolve(name + ".onnx");
        Files.write(file, onnx);
        Compiler.compile(file.toString(), dir.resolve(name + ".so"), new Compiler.Options(Target.host(), Map.of(), null, false));
        // ONNX Runtime refuses layout 1: it runs the layout-0 model (the same weights) on transposed inputs.
        byte[] ortModel = layout == 1 ? OnnxWriter.write(model(name, op, hidden, withoutLayout(attrs), states, lengths, peepholes, 0),
                OnnxWriter.IR_VERSION) : onnx;
        try (KilnLibrary kiln = new KilnLibrary(dir.resolve(name + ".so"), 1); OrtModel ort = new OrtModel(ortModel, 1)) {
            Map<String, Tensor> inputs = kiln.randomInputs(7);
            Map<String, Tensor> expected = layout == 1 ? swapped(ort.run(swapped(inputs))) : ort.run(inputs);
            Map<String, Tensor> actual = kiln.run(inputs);
            Map<String, Tensor> reference = Evaluator.run(g, inputs);
            assertEquals(expected.keySet(), actual.keySet(), "output names");
            for (var e : expected.entrySet()) {
                Tensor ref = e.getValue();
                Compare c = Compare.of(actual.get(e.getKey()), ref, 1e-5, 1e-4);
                assertTrue(c.ok(), name + ": native output " + e.getKey() + ": " + c.detail());
                Compare r = Compare.of(reference.get(e.getKey()), ref, 1e-5, 1e-4);
                assertTrue(r.ok(), name + ": reference evaluator's output " + e.getKey() + ": " + r.detail());
                double max = 0;
                for (int i = 0; i < ref.size(); i++) max = Math.max(max, Math.abs(ref.getDouble(i)));
                assertTrue(max > 0.05, name + ": output " + e.getKey() + " is nearly zero: the check would prove little");
            }
        }
    }

    private static Map<String, Attr> withoutLayout(Map<String, Attr> attrs) {
        Map<String, Attr> r = new LinkedHashMap<>(attrs);
        r.remove("layout");
        return r;
    }

    /** Inputs from layout 1 to 0, or outputs from layout 0 to 1. */
    private static Map<String, Tensor> swapped(Map<String, Tensor> ts) {
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (var e : ts.entrySet()) {
            Tensor t = e.getValue();
            int[] d = t.shape().dims();
            // Y (only ever an output here): [T, D, B, H] to [B, T, D, H]; the others swap their first two axes.
            int[] perm = d.length == 4 ? new int[] {2, 0, 1, 3} : new int[] {1, 0, 2};
            int[] out = new int[d.length];
            for (int i = 0; i < d.length; i++) out[i] = d[perm[i]];
            Shape os = Shape.of(java.util.Arrays.stream(out).asLongStream().toArray());
            Tensor o = Tensor.zeros(t.dtype(), os);
            int[] idx = new int[d.length];
            for (int flat = 0; flat < o.size(); flat++) {
                int rem = flat;
                for (int i = d.length - 1; i >= 0; i--) {
                    idx[perm[i]] = rem % out[i];
                    rem /= out[i];
                }
                int src = 0;
                for (int i = 0; i < d.length; i++) src = src * d[i] + idx[i];
                o.setDouble(flat, t.getDouble(src));
            }
            r.put(e.getKey(), o);
        }
        return r;
    }

    /** One recurrent node with random weights; X and the initial states are graph inputs, the rest initializers. */
    private static Graph model(String name, String op, int hidden, Map<String, Attr> attrs, boolean states, boolean lengths,
                               boolean peepholes, int layout) {
        SplittableRandom rng = new SplittableRandom(name.hashCode());
        int dirs = attrs.get("direction") instanceof Attr.Str(String d) && d.equals("bidirectional") ? 2 : 1;
        int gates = switch (op) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            default -> 1;
        };
        Graph g = new Graph(name);
        g.opsets().put("", 14);
        List<String> in = new ArrayList<>();
        in.add(input(g, "X", layout == 1 ? new Shape(BATCH, STEPS, FEATURES) : new Shape(STEPS, BATCH, FEATURES)));
        double scale = 1 / Math.sqrt(hidden);
        in.add(weight(g, "W", rng, scale, dirs, gates * hidden, FEATURES));
        in.add(weight(g, "R", rng, scale, dirs, gates * hidden, hidden));
        in.add(weight(g, "B", rng, scale, dirs, 2 * gates * hidden));
        if (lengths) {
            long[] lens = {STEPS, 3, 5};
            g.initializers().put("sequence_lens", Tensor.of(DType.INT32, new Shape(BATCH), lens));
            in.add("sequence_lens");
        } else {
            in.add("");
        }
        Shape state = layout == 1 ? new Shape(BATCH, dirs, hidden) : new Shape(dirs, BATCH, hidden);
        in.add(states ? input(g, "initial_h", state) : "");
        if (op.equals("LSTM")) {
            in.add(states ? input(g, "initial_c", state) : "");
            in.add(peepholes ? weight(g, "P", rng, scale, dirs, 3 * hidden) : "");
        }
        List<String> outs = new ArrayList<>(List.of("Y", "Y_h"));
        if (op.equals("LSTM")) outs.add("Y_c");
        Map<String, Attr> all = new LinkedHashMap<>(attrs);
        all.put("hidden_size", new Attr.Int(hidden));
        while (!in.isEmpty() && in.getLast().isEmpty()) in.removeLast();
        g.setNodes(List.of(new Node(op + "_0", op, "", in, outs, all, 14)));
        g.outputs().addAll(outs);
        dev.kiln.irhigh.ShapeInference.run(g);
        return g;
    }

    private static String input(Graph g, String name, Shape shape) {
        Value v = new Value(name, DType.FLOAT32, shape);
        g.inputs().add(v);
        g.values().put(name, v);
        return name;
    }

    private static String weight(Graph g, String name, SplittableRandom rng, double scale, int... dims) {
        g.initializers().put(name, Tensor.generate(DType.FLOAT32, Shape.of(java.util.Arrays.stream(dims).asLongStream().toArray()),
                i -> rng.nextDouble(-scale, scale)));
        return name;
    }
}
