package dev.kiln.frontend.zoo;

import dev.kiln.irhigh.Graph;

/** A 3-layer perceptron at opset 13: [N,784] -> 1024 -> ReLU -> 1024 -> ReLU -> 10 (N the batch, 1 by default). */
final class Mlp {
    private Mlp() {}

    static Graph build(int batch) {
        GraphBuilder b = new GraphBuilder("mlp", 13, 0x0000_0784L);
        String x = b.input("input", batch, 784);
        x = b.relu(b.gemm(x, 784, 1024, 2.0));
        x = b.relu(b.gemm(x, 1024, 1024, 2.0));
        x = b.gemm(x, 1024, 10, 1.0);
        return b.finish(x, "output", batch, 10);
    }
}
