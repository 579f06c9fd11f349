package dev.kiln.schedules.ops;

import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.te.Te;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Inputs broadcast to one output shape, with the dimensions merged as far as every input allows:
 * size-1 output dimensions are dropped and neighbours are joined when each input is either whole
 * or broadcast along both. An add of two {@code [8,64,56,56]} tensors becomes one flat loop, a
 * bias add over {@code [8,64,56,56]} becomes {@code [8][64][3136]} with the bias read at the
 * middle index: fewer loops and no div/mod in the indices, so the flat loop vectorizes.
 *
 * @param out the merged output dimensions ({@code [1]} for a single element)
 * @param ins each input's merged dimensions: the output's where it is whole, 1 where broadcast
 */
record Broadcast(long[] out, List<long[]> ins) {
    /** Right-aligns {@code dims} to {@code rank} (numpy broadcasting). */
    static long[] align(long[] dims, int rank) {
        long[] r = new long[rank];
        Arrays.fill(r, 1);
        System.arraycopy(dims, 0, r, rank - dims.length, dims.length);
        return r;
    }

    /** Merges the dimensions of {@code outDims} and of the inputs, each already aligned to the output's rank. */
    static Broadcast of(long[] outDims, List<long[]> aligned) {
        List<Long> out = new ArrayList<>();
        List<List<Long>> ins = new ArrayList<>();
        for (int k = 0; k < aligned.size(); k++) ins.add(new ArrayList<>());
        boolean[] prev = null;
        for (int d = 0; d < outDims.length; d++) {
            if (outDims[d] == 1) continue;
            boolean[] whole = new boolean[aligned.size()];
            for (int k = 0; k < whole.length; k++) {
                long n = aligned.get(k)[d];
                if (n != 1 && n != outDims[d])
                    throw new IllegalArgumentException("dimension " + d + " of size " + n + " does not broadcast to " + outDims[d]);
                whole[k] = n == outDims[d];
            }
            if (prev != null && Arrays.equals(prev, whole)) {
                int last = out.size() - 1;
                out.set(last, out.get(last) * outDims[d]);
                for (int k = 0; k < whole.length; k++) if (whole[k]) ins.get(k).set(last, ins.get(k).get(last) * outDims[d]);
            } else {
                out.add(outDims[d]);
                for (int k = 0; k < whole.length; k++) ins.get(k).add(whole[k] ? outDims[d] : 1L);
            }
            prev = whole;
        }
        if (out.isEmpty()) {
            out.add(1L);
            for (List<Long> in : ins) in.add(1L);
        }
        List<long[]> inArrays = new ArrayList<>();
        for (List<Long> in : ins) inArrays.add(in.stream().mapToLong(Long::longValue).toArray());
        return new Broadcast(out.stream().mapToLong(Long::longValue).toArray(), inArrays);
    }

    /** Reads input {@code k} (a placeholder with this input's merged shape) at the output indices {@code axes}. */
    Expr read(Placeholder p, int k, List<? extends Expr> axes) {
        long[] dims = ins.get(k);
        List<Expr> idx = new ArrayList<>();
        for (int d = 0; d < dims.length; d++) idx.add(dims[d] == 1 ? Idx.c(0) : axes.get(d));
        return Te.read(p, idx);
    }
}
