package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What an LSTM, GRU or RNN node (or the {@code kiln.Recurrence} node it is split into) asks for:
 * the cell, its hidden size, directions, activation functions with their alpha and beta, clip,
 * and the GRU and LSTM variants. The reference evaluator and the native kernel read the node
 * through this one description, so that both see the same defaults.
 *
 * <p>Gate order as in ONNX: LSTM {@code i, o, f, c}, GRU {@code z, r, h}, RNN one gate.
 */
public record RnnCell(Kind kind, int hidden, int directions, boolean reverse, List<Activation> activations, double clip,
                      boolean linearBeforeReset, boolean inputForget) {

    /** The domain and op of the recurrent part that {@code SplitRecurrent} leaves of a recurrent node. */
    public static final String DOMAIN = "kiln", OP = "Recurrence";

    /** The cell kinds, with their gate count and how many activation functions each direction takes. */
    public enum Kind {
        LSTM(4, List.of("Sigmoid", "Tanh", "Tanh")),
        GRU(3, List.of("Sigmoid", "Tanh")),
        RNN(1, List.of("Tanh"));

        public final int gates;
        final List<String> defaults;

        Kind(int gates, List<String> defaults) {
            this.gates = gates;
            this.defaults = defaults;
        }

        public int functions() {
            return defaults.size();
        }
    }

    /** The activation function names the ONNX recurrent ops accept (case-insensitive). */
    static final List<String> FUNCTIONS = List.of("Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
            "HardSigmoid", "Elu", "Softsign", "Softplus");

    /** One activation function with its parameters (the op's defaults where the node gives none). */
    public record Activation(String name, float alpha, float beta) {
        public double apply(double x) {
            return switch (name) {
                case "Relu" -> Math.max(x, 0);
                case "Tanh" -> Math.tanh(x);
                case "Sigmoid" -> Unary.sigmoid(x);
                case "Affine" -> alpha * x + beta;
                case "LeakyRelu" -> x >= 0 ? x : alpha * x;
                case "ThresholdedRelu" -> x > alpha ? x : 0;
                case "ScaledTanh" -> alpha * Math.tanh(beta * x);
                case "HardSigmoid" -> Math.max(0, Math.min(1, alpha * x + beta));
                case "Elu" -> x >= 0 ? x : alpha * Math.expm1(x);
                case "Softsign" -> x / (1 + Math.abs(x));
                case "Softplus" -> x > 30 ? x : Math.log1p(Math.exp(x));
                default -> throw new IllegalStateException(name);
            };
        }

        static boolean takesAlpha(String f) {
            return List.of("Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu").contains(f);
        }

        static boolean takesBeta(String f) {
            return List.of("Affine", "ScaledTanh", "HardSigmoid").contains(f);
        }

        static float defaultAlpha(String f) {
            return switch (f) {
                case "LeakyRelu" -> 0.01f;
                case "HardSigmoid" -> 0.2f;
                default -> 1f;
            };
        }

        static float defaultBeta(String f) {
            return switch (f) {
                case "HardSigmoid" -> 0.5f;
                case "ScaledTanh" -> 1f;
                default -> 0f;
            };
        }
    }

    /** The number of gates: 4 for LSTM, 3 for GRU, 1 for RNN. */
    public int gates() {
        return kind.gates;
    }

    /** Whether direction {@code d} runs from the last time step to the first. */
    public boolean reversed(int d) {
        return reverse || d == 1;
    }

    /** Activation function {@code k} (f, g, h in the spec's order) of direction {@code d}. */
    public Activation activation(int d, int k) {
        return activations.get(d * kind.functions() + k);
    }

    /**
     * The column ranges {@code {start, length}} of R's rows ({@code [G*H, H]}) that one step
     * multiplies by the same vector: all gates by the previous state, except for a GRU without
     * linear_before_reset, whose candidate gate multiplies {@code r * h} once r is known.
     */
    public List<int[]> segments() {
        if (kind == Kind.GRU && !linearBeforeReset) return List.of(new int[] {0, 2 * hidden}, new int[] {2 * hidden, hidden});
        return List.<int[]>of(new int[] {0, gates() * hidden});
    }

    /**
     * Where gate g's first column lies in R packed in panels of {@code panel} columns: each
     * segment padded with zero columns to whole panels.
     */
    public int packedGateStart(int g, int panel) {
        int start = 0;
        for (int[] seg : segments()) {
            if (g * hidden < seg[0] + seg[1]) return start + g * hidden - seg[0];
            start += roundUp(seg[1], panel);
        }
        throw new IllegalArgumentException("gate " + g + " of a " + kind);
    }

    /** How many columns R has packed in panels of {@code panel} columns, zero padding included. */
    public int packedColumns(int panel) {
        int n = 0;
        for (int[] seg : segments()) n += roundUp(seg[1], panel);
        return n;
    }

    /** Column j of R (gate j / H) in R packed in panels of {@code panel}. */
    public int packedColumn(int j, int panel) {
        return packedGateStart(j / hidden, panel) + j % hidden;
    }

    private static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }

    /** Whether gate pre-activations are clipped to [-clip, clip]. */
    public boolean clips() {
        return !Double.isNaN(clip);
    }

    /** The cell of an LSTM, GRU or RNN node, or of a {@code kiln.Recurrence} node (attribute {@code cell}). */
    public static RnnCell of(Node n) {
        String op = n.domain().equals(DOMAIN) ? n.attrString("cell", "") : n.op();
        Kind kind;
        try {
            kind = Kind.valueOf(op);
        } catch (IllegalArgumentException e) {
            throw n.error("is not a recurrent cell (LSTM, GRU or RNN): " + op);
        }
        long hidden = n.attrInt("hidden_size", -1);
        if (hidden < 1) throw n.error("needs attribute 'hidden_size' (a positive integer), got " + (n.has("hidden_size") ? hidden : "none"));
        String direction = n.attrString("direction", "forward");
        int directions = switch (direction) {
            case "forward", "reverse" -> 1;
            case "bidirectional" -> 2;
            default -> throw n.error("has direction '" + direction + "'; ONNX allows forward, reverse and bidirectional");
        };
        List<String> names = n.attrStrings("activations", null);
        int per = kind.functions();
        if (names == null) {
            names = new ArrayList<>();
            for (int d = 0; d < directions; d++) names.addAll(kind.defaults);
        } else if (names.size() == per && directions == 2) {
            List<String> both = new ArrayList<>(names);
            both.addAll(names);
            names = both;
        } else if (names.size() != per * directions) {
            throw n.error("has " + names.size() + " activations " + names + "; a " + direction + " " + kind + " takes "
                    + per * directions + " (" + per + " per direction)");
        }
        float[] alphas = n.attrFloats("activation_alpha", new float[0]), betas = n.attrFloats("activation_beta", new float[0]);
        List<Activation> acts = new ArrayList<>();
        int ai = 0, bi = 0;
        for (String name : names) {
            String f = canonical(n, name);
            float alpha = Activation.defaultAlpha(f), beta = Activation.defaultBeta(f);
            // Parameters are consumed in the order of the functions that take them.
            if (Activation.takesAlpha(f) && ai < alphas.length) alpha = alphas[ai++];
            if (Activation.takesBeta(f) && bi < betas.length) beta = betas[bi++];
            acts.add(new Activation(f, alpha, beta));
        }
        double clip = n.has("clip") ? n.attrFloat("clip", 0) : Double.NaN;
        if (!Double.isNaN(clip) && !(clip > 0)) throw n.error("has clip " + clip + "; it must be positive");
        long layout = n.attrInt("layout", 0);
        if (layout != 0 && layout != 1) throw n.error("has layout " + layout + "; ONNX allows 0 ([seq, batch, ...]) and 1 ([batch, seq, ...])");
        return new RnnCell(kind, (int) hidden, directions, direction.equals("reverse"), acts, clip,
                n.attrInt("linear_before_reset", 0) != 0, n.attrInt("input_forget", 0) != 0);
    }

    private static String canonical(Node n, String name) {
        for (String f : FUNCTIONS) if (f.toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) return f;
        throw n.error("has activation function '" + name + "'; the recurrent ops take " + String.join(", ", FUNCTIONS));
    }
}
