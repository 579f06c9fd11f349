package dev.kiln.irhigh.ops;

import java.util.stream.IntStream;

/**
 * Row-major matrix products on flat arrays, shared by MatMul and Gemm. Each output element is
 * the sum over k in ascending order, in double (floats) or long (integers); rows are computed in
 * parallel when the product is large, which does not change any result.
 */
final class MatMulKernel {
    private MatMulKernel() {}

    private static final long PARALLEL_WORK = 1 << 20;

    /** y[yo + i*n + j] = sum_k a[ao + i*k + kk] * b[bo + kk*n + j] for an (m x k) by (k x n) product. */
    static void matmul(double[] a, int ao, double[] b, int bo, double[] y, int yo, int m, int k, int n) {
        IntStream rows = IntStream.range(0, m);
        if ((long) m * k * n >= PARALLEL_WORK) rows = rows.parallel();
        rows.forEach(i -> {
            int yr = yo + i * n;
            for (int kk = 0; kk < k; kk++) {
                double av = a[ao + i * k + kk];
                int br = bo + kk * n;
                for (int j = 0; j < n; j++) y[yr + j] += av * b[br + j];
            }
        });
    }

    static void matmul(long[] a, int ao, long[] b, int bo, long[] y, int yo, int m, int k, int n) {
        IntStream rows = IntStream.range(0, m);
        if ((long) m * k * n >= PARALLEL_WORK) rows = rows.parallel();
        rows.forEach(i -> {
            int yr = yo + i * n;
            for (int kk = 0; kk < k; kk++) {
                long av = a[ao + i * k + kk];
                int br = bo + kk * n;
                for (int j = 0; j < n; j++) y[yr + j] += av * b[br + j];
            }
        });
    }

    /** The transpose of a row-major (rows x cols) matrix. */
    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }
}
