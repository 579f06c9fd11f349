package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.Arrays;
import java.util.List;

/**
 * MatMul with numpy semantics: a 1-D A is a row vector and a 1-D B a column vector (that axis is
 * dropped from the result); leading batch axes broadcast.
 */
final class MatMul implements OpDef {
    /** Operand shapes as matrices plus the broadcast batch shape. */
    private record Plan(int m, int k, int n, Shape batch, Shape aBatch, Shape bBatch, Shape out) {}

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 2);
        Ops.requireOutputs(n, 1, 1);
        Value a = Ops.required(n, inputs, 0, "A"), b = Ops.required(n, inputs, 1, "B");
        Ops.requireNumeric(n, a, 0, "A");
        Ops.requireSameDtype(n, a, 0, "A", b, 1, "B");
        return List.of(Ops.out(n, 0, a.dtype(), plan(n, a.shape(), b.shape()).out));
    }

    private static Plan plan(Node n, Shape a, Shape b) {
        if (a.rank() == 0 || b.rank() == 0) throw n.error("MatMul inputs must have rank 1 or more; got A " + a + " and B " + b);
        int[] ad = a.dims(), bd = b.dims();
        int m = a.rank() == 1 ? 1 : ad[ad.length - 2], k = ad[ad.length - 1];
        int kb = b.rank() == 1 ? bd[0] : bd[bd.length - 2], nn = b.rank() == 1 ? 1 : bd[bd.length - 1];
        if (k != kb)
            throw n.error("input A has shape " + a + " and B has shape " + b + ": A's last dimension (" + k
                    + ") must equal B's " + (b.rank() == 1 ? "only" : "second-to-last") + " dimension (" + kb + ")");
        Shape aBatch = new Shape(Arrays.copyOf(ad, Math.max(0, ad.length - 2)));
        Shape bBatch = new Shape(Arrays.copyOf(bd, Math.max(0, bd.length - 2)));
        Shape batch = Broadcast.of(aBatch, bBatch);
        if (batch == null) throw n.error("batch dimensions of A " + a + " and B " + b + " do not broadcast");
        int[] out = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        int r = batch.rank();
        if (a.rank() > 1) out[r++] = m;
        if (b.rank() > 1) out[r++] = nn;
        return new Plan(m, k, nn, batch, aBatch, bBatch, new Shape(Arrays.copyOf(out, r)));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Ops.inferFrom(this, n, inputs);
        Tensor a = inputs.get(0), b = inputs.get(1);
        Plan p = plan(n, a.shape(), b.shape());
        int batches = Math.toIntExact(p.batch.numel());
        int[] am = TensorData.broadcastMap(p.aBatch, p.batch), bm = TensorData.broadcastMap(p.bBatch, p.batch);
        int aSize = p.m * p.k, bSize = p.k * p.n, ySize = p.m * p.n;
        if (a.dtype().isFloat()) {
            double[] x = TensorData.toDoubles(a), w = TensorData.toDoubles(b), y = new double[batches * ySize];
            for (int i = 0; i < batches; i++)
                MatMulKernel.matmul(x, TensorData.at(am, i) * aSize, w, TensorData.at(bm, i) * bSize, y, i * ySize, p.m, p.k, p.n);
            return List.of(TensorData.fromDoubles(a.dtype(), p.out, y));
        }
        long[] y = new long[batches * ySize];
        for (int i = 0; i < batches; i++)
            MatMulKernel.matmul(a.longs(), TensorData.at(am, i) * aSize, b.longs(), TensorData.at(bm, i) * bSize, y, i * ySize, p.m, p.k, p.n);
        return List.of(Tensor.of(a.dtype(), p.out, y));
    }
}
