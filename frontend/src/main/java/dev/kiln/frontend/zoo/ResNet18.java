package dev.kiln.frontend.zoo;

import dev.kiln.irhigh.Graph;

/**
 * torchvision's ResNet-18 (BasicBlock, layers [2,2,2,2]) at opset 13, as torch.onnx exports it
 * in eval mode: batch norms unfused, input "input" [N,3,224,224], output "output" [N,1000] (N the
 * batch, 1 by default).
 */
final class ResNet18 {
    private ResNet18() {}

    static Graph build(int batch) {
        GraphBuilder b = new GraphBuilder("resnet18", 13, 0x5E5_0018L);
        String x = b.input("input", batch, 3, 224, 224);
        x = b.relu(b.batchNorm(b.conv(x, 3, 64, 7, 2, 3, 1), 64));
        x = b.maxPool(x, 3, 2, 1);
        int in = 64;
        int[] widths = {64, 128, 256, 512};
        for (int stage = 0; stage < widths.length; stage++) {
            for (int block = 0; block < 2; block++) {
                int stride = stage > 0 && block == 0 ? 2 : 1;
                b.scope("layer" + (stage + 1) + "." + block);
                x = basicBlock(b, x, in, widths[stage], stride);
                in = widths[stage];
            }
        }
        b.scope("");
        x = b.flatten(b.globalAveragePool(x), 1);
        x = b.gemm(x, 512, 1000, 1.0);
        return b.finish(x, "output", batch, 1000);
    }

    /** conv3x3-BN-ReLU-conv3x3-BN, plus the identity (or a 1x1 strided conv+BN), then ReLU. */
    private static String basicBlock(GraphBuilder b, String x, int in, int out, int stride) {
        String y = b.relu(b.batchNorm(b.conv(x, in, out, 3, stride, 1, 1), out));
        // The branch's last BN is damped so the residual sum does not double the variance per block.
        y = b.batchNorm(b.conv(y, out, out, 3, 1, 1, 1), out, 0.5);
        String identity = x;
        if (stride != 1 || in != out) identity = b.batchNorm(b.conv(x, in, out, 1, stride, 0, 1, 1.0), out);
        return b.relu(b.add(y, identity));
    }
}
