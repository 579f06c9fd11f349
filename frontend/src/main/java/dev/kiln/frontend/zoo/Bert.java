package dev.kiln.frontend.zoo;

import dev.kiln.irhigh.Graph;

/**
 * A BERT-base-style encoder of 2 layers (hidden 768, 12 heads, FFN 3072, sequence 128) at
 * opset 17, in the op pattern PyTorch exports: per-head Reshape/Transpose around MatMul
 * attention, exact GELU as x*0.5*(1+erf(x/sqrt 2)), post-norm LayerNormalization. The input
 * "input" [N,128,768] is already-embedded hidden states (N the batch, 1 by default); the output
 * "output" has the same shape.
 */
final class Bert {
    static final int LAYERS = 2, SEQ = 128, HIDDEN = 768, HEADS = 12, HEAD = HIDDEN / HEADS, FFN = 3072;

    private Bert() {}

    static Graph build(int batch) {
        GraphBuilder b = new GraphBuilder("bert", 17, 0xBE27_0002L);
        String x = b.input("input", batch, SEQ, HIDDEN);
        for (int layer = 0; layer < LAYERS; layer++) {
            b.scope("encoder.layer." + layer + ".attention");
            x = b.layerNorm(b.add(attention(b, x, batch), x), HIDDEN);
            b.scope("encoder.layer." + layer + ".ffn");
            x = b.layerNorm(b.add(feedForward(b, x), x), HIDDEN);
        }
        return b.finish(x, "output", batch, SEQ, HIDDEN);
    }

    private static String attention(GraphBuilder b, String x, int batch) {
        String q = b.transpose(heads(b, x, batch), 0, 2, 1, 3); // [N,12,128,64]
        String k = b.transpose(heads(b, x, batch), 0, 2, 3, 1); // [N,12,64,128]
        String v = b.transpose(heads(b, x, batch), 0, 2, 1, 3); // [N,12,128,64]
        String scores = b.div(b.node("MatMul", java.util.Map.of(), q, k), b.scalar((float) Math.sqrt(HEAD)));
        String probs = b.softmax(scores, -1); // [N,12,128,128]
        String context = b.node("MatMul", java.util.Map.of(), probs, v); // [N,12,128,64]
        context = b.reshape(b.transpose(context, 0, 2, 1, 3), batch, SEQ, HIDDEN);
        return b.addBias(b.matmul(context, HIDDEN, HIDDEN, 1.0), HIDDEN);
    }

    /** A linear projection split into heads: [N,128,768] -> [N,128,12,64]. */
    private static String heads(GraphBuilder b, String x, int batch) {
        return b.reshape(b.addBias(b.matmul(x, HIDDEN, HIDDEN, 1.0), HIDDEN), batch, SEQ, HEADS, HEAD);
    }

    private static String feedForward(GraphBuilder b, String x) {
        String h = b.addBias(b.matmul(x, HIDDEN, FFN, 1.0), FFN);
        return b.addBias(b.matmul(gelu(b, h), FFN, HIDDEN, 1.0), HIDDEN);
    }

    /** Exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)), as Div/Erf/Add/Mul/Mul nodes. */
    private static String gelu(GraphBuilder b, String x) {
        String erf = b.erf(b.div(x, b.scalar((float) Math.sqrt(2))));
        return b.mul(b.mul(x, b.add(erf, b.scalar(1f))), b.scalar(0.5f));
    }
}
