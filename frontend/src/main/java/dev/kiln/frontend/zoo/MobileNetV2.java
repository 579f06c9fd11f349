package dev.kiln.frontend.zoo;

import dev.kiln.irhigh.Graph;

/**
 * torchvision's MobileNetV2 (width 1.0) at opset 13: inverted residual blocks of 1x1 expansion,
 * 3x3 depthwise and 1x1 linear projection, ReLU6 as Clip(0, 6) with constant min/max inputs.
 * Input "input" [N,3,224,224], output "output" [N,1000] (N the batch, 1 by default).
 */
final class MobileNetV2 {
    private MobileNetV2() {}

    /** Rows of (expansion t, output channels c, repeats n, first stride s), from the paper. */
    private static final int[][] SETTINGS = {
        {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
    };

    static Graph build(int batch) {
        GraphBuilder b = new GraphBuilder("mobilenetv2", 13, 0x30B_11E2L);
        String x = b.input("input", batch, 3, 224, 224);
        b.scope("features.0");
        x = relu6(b, b.batchNorm(b.conv(x, 3, 32, 3, 2, 1, 1), 32));
        int in = 32;
        int index = 1;
        for (int[] s : SETTINGS) {
            for (int i = 0; i < s[2]; i++) {
                b.scope("features." + index++);
                x = invertedResidual(b, x, in, s[1], i == 0 ? s[3] : 1, s[0]);
                in = s[1];
            }
        }
        b.scope("features." + index);
        x = relu6(b, b.batchNorm(b.conv(x, in, 1280, 1, 1, 0, 1), 1280));
        b.scope("classifier");
        x = b.flatten(b.globalAveragePool(x), 1);
        x = b.gemm(x, 1280, 1000, 1.0);
        return b.finish(x, "output", batch, 1000);
    }

    private static String invertedResidual(GraphBuilder b, String x, int in, int out, int stride, int expand) {
        int hidden = in * expand;
        String y = x;
        if (expand != 1) y = relu6(b, b.batchNorm(b.conv(y, in, hidden, 1, 1, 0, 1), hidden));
        y = relu6(b, b.batchNorm(b.conv(y, hidden, hidden, 3, stride, 1, hidden), hidden));
        boolean residual = stride == 1 && in == out;
        // Linear bottleneck: no activation, and damped when added to the identity.
        y = b.batchNorm(b.conv(y, hidden, out, 1, 1, 0, 1, 1.0), out, residual ? 0.5 : 1.0);
        return residual ? b.add(x, y) : y;
    }

    private static String relu6(GraphBuilder b, String x) {
        return b.clip(x, 0f, 6f);
    }
}
