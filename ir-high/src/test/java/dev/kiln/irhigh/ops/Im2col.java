package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Tensor;

/**
 * An independent convolution for checking Conv: pad the input explicitly, unfold every receptive
 * field into a column (im2col), then multiply by the weights as a matrix, group by group.
 * Works for any number of spatial axes.
 */
final class Im2col {
    private Im2col() {}

    static double[] conv(Tensor x, Tensor w, Tensor b, int group, int[] strides, int[] pads, int[] dil) {
        int[] xd = x.shape().dims(), wd = w.shape().dims();
        int s = xd.length - 2, n = xd[0], c = xd[1], m = wd[0], cg = c / group, mg = m / group;
        int[] padded = new int[s], kernel = new int[s], out = new int[s];
        for (int i = 0; i < s; i++) {
            padded[i] = xd[i + 2] + pads[i] + pads[i + s];
            kernel[i] = wd[i + 2];
            out[i] = (padded[i] - dil[i] * (kernel[i] - 1) - 1) / strides[i] + 1;
        }
        int paddedSize = prod(padded), kSize = prod(kernel), outSize = prod(out);
        // 1. Explicitly zero-padded input [N, C, padded...].
        double[] p = new double[n * c * paddedSize];
        int inSize = x.size() / (n * c);
        for (int nc = 0; nc < n * c; nc++)
            for (int i = 0; i < inSize; i++) {
                int[] pos = unravel(i, slice(xd, 2));
                for (int a = 0; a < s; a++) pos[a] += pads[a];
                p[nc * paddedSize + ravel(pos, padded)] = x.floats()[nc * inSize + i];
            }
        double[] y = new double[n * m * outSize];
        for (int img = 0; img < n; img++)
            for (int g = 0; g < group; g++) {
                // 2. Columns: row (channel, kernel tap), column output position.
                int rows = cg * kSize;
                double[] col = new double[rows * outSize];
                for (int ch = 0; ch < cg; ch++)
                    for (int t = 0; t < kSize; t++)
                        for (int o = 0; o < outSize; o++) {
                            int[] kp = unravel(t, kernel), op = unravel(o, out), pos = new int[s];
                            for (int a = 0; a < s; a++) pos[a] = op[a] * strides[a] + kp[a] * dil[a];
                            col[(ch * kSize + t) * outSize + o] = p[(img * c + g * cg + ch) * paddedSize + ravel(pos, padded)];
                        }
                // 3. Y[group rows] = W[group rows] (mg x rows) * col (rows x outSize) + bias.
                for (int oc = 0; oc < mg; oc++)
                    for (int o = 0; o < outSize; o++) {
                        double acc = 0;
                        for (int r = 0; r < rows; r++) acc += w.floats()[(g * mg + oc) * rows + r] * col[r * outSize + o];
                        y[(img * m + g * mg + oc) * outSize + o] = acc + b.floats()[g * mg + oc];
                    }
            }
        return y;
    }

    private static int prod(int[] d) {
        int p = 1;
        for (int v : d) p *= v;
        return p;
    }

    private static int[] slice(int[] d, int from) {
        return java.util.Arrays.copyOfRange(d, from, d.length);
    }

    private static int[] unravel(int i, int[] dims) {
        int[] r = new int[dims.length];
        for (int a = dims.length - 1; a >= 0; a--) {
            r[a] = i % dims[a];
            i /= dims[a];
        }
        return r;
    }

    private static int ravel(int[] pos, int[] dims) {
        int r = 0;
        for (int a = 0; a < dims.length; a++) r = r * dims[a] + pos[a];
        return r;
    }
}
