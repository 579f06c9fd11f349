package dev.kiln.frontend.zoo;

import dev.kiln.irhigh.Graph;

/** A 3-layer perceptron at opset 13: [1,784] -> 1024 -> ReLU -> 1024 -> ReLU -> 10. */
final class Mlp {
    private Mlp() {}

    static Graph build() {
        GraphBuilder b = new GraphBuilder("mlp", 13, 0x0000_0784L);
        String x = b.input("input", 1, 784);
        x = b.relu(b.gemm(x, 784, 1024, 2.0));
        x = b.relu(b.gemm(x, 1024, 1024, 2.0));
        x = b.gemm(x, 1024, 10, 1.0);
        return b.finish(x, "output", 1, 10);
    }
}
