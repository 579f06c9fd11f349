package dev.kiln.frontend.zoo;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.Graph;
import java.util.Map;

/**
 * A 2-layer LSTM as PyTorch's {@code nn.LSTM(64, 256, num_layers=2)} exports it (opset 14, layout
 * 0): input {@code [100, N, 64]} (100 steps, batch N, 64 features), output the second layer's
 * hidden states {@code [100, N, 256]}. Weights uniform in +-1/sqrt(256), as PyTorch initializes
 * them. Unlike the other zoo models, the batch is the second dimension, as in the exported model.
 */
final class Lstm {
    private Lstm() {}

    static final int STEPS = 100, FEATURES = 64, HIDDEN = 256;

    static Graph build(int batch) {
        GraphBuilder b = new GraphBuilder("lstm", 14, 0x157L);
        String x = b.input("input", STEPS, batch, FEATURES);
        int in = FEATURES;
        for (int layer = 0; layer < 2; layer++) {
            b.scope("lstm" + layer);
            x = layer(b, x, in, batch);
            in = HIDDEN;
        }
        return b.finish(x, "output", STEPS, batch, HIDDEN);
    }

    private static String layer(GraphBuilder b, String x, int in, int batch) {
        double k = 1 / Math.sqrt(HIDDEN);
        String w = b.constant(b.uniform(-k, k, 1, 4 * HIDDEN, in));
        String r = b.constant(b.uniform(-k, k, 1, 4 * HIDDEN, HIDDEN));
        String bias = b.constant(b.uniform(-k, k, 1, 8 * HIDDEN));
        String y = b.node("LSTM", Map.of("hidden_size", new Attr.Int(HIDDEN)), x, w, r, bias);
        return b.reshape(y, STEPS, batch, HIDDEN);
    }
}
