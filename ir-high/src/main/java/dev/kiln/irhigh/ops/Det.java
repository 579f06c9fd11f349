package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/**
 * Det: the determinant of each square matrix in the input's last two dimensions, by Gaussian
 * elimination with partial pivoting in double precision.
 */
public final class Det implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X");
        Ops.requireFloat(n, x, 0, "X");
        Ops.requireRankAtLeast(n, x, 0, "X", 2);
        int r = x.shape().rank();
        if (x.shape().dim(r - 1) != x.shape().dim(r - 2)) throw n.error(Ops.in(n, 0, "X") + " has shape " + x.shape() + "; Det takes square matrices");
        return List.of(Ops.out(n, 0, x.dtype(), Shape.of(Arrays.copyOf(x.shape().longDims(), r - 2))));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<Value> types = Ops.inferFrom(this, n, inputs);
        Tensor x = inputs.get(0);
        int m = x.shape().dim(x.shape().rank() - 1), count = (int) types.get(0).shape().numel();
        double[] v = TensorData.toDoubles(x), out = new double[count];
        for (int b = 0; b < count; b++) out[b] = determinant(Arrays.copyOfRange(v, b * m * m, (b + 1) * m * m), m);
        return List.of(TensorData.fromDoubles(x.dtype(), types.get(0).shape(), out));
    }

    /** The determinant of the row-major m x m matrix a (destroyed). */
    static double determinant(double[] a, int m) {
        double det = 1;
        for (int k = 0; k < m; k++) {
            int p = k;
            for (int i = k + 1; i < m; i++) if (Math.abs(a[i * m + k]) > Math.abs(a[p * m + k])) p = i;
            if (p != k) {
                for (int j = 0; j < m; j++) {
                    double t = a[k * m + j];
                    a[k * m + j] = a[p * m + j];
                    a[p * m + j] = t;
                }
                det = -det;
            }
            double pivot = a[k * m + k];
            det *= pivot;
            if (pivot == 0) return 0;
            for (int i = k + 1; i < m; i++) {
                double f = a[i * m + k] / pivot;
                for (int j = k; j < m; j++) a[i * m + j] -= f * a[k * m + j];
            }
        }
        return det;
    }
}
