package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * TfIdfVectorizer (integer tokens) as ONNX Runtime computes it. Each row of X ([C] or [N, C]) is
 * scanned for the pool's n-grams of lengths {@code min_gram_length..max_gram_length}; an n-gram
 * with skip k takes items i, i + k + 1, i + 2(k + 1), ... for k in {@code 0..max_skip_count}.
 * Unigrams are counted once (skips do not change them). A hit on pool n-gram g touches output
 * column {@code ngram_indexes[g]}: TF adds 1, IDF sets {@code weights[g]} (1 without weights),
 * TFIDF adds {@code weights[g]}. The scan goes skip by skip, start by start, shorter n-grams
 * first, so that when n-grams share a column IDF keeps the weight of the last hit, as ONNX
 * Runtime does. The output is float32 {@code [max(ngram_indexes) + 1]} or {@code [N, that]}.
 * (Weights by pool n-gram is what ONNX Runtime 1.29 computes; older ONNX Runtime sources index
 * them by output column, which agrees only when ngram_indexes is the identity.)
 */
public final class TfIdfVectorizer implements OpDef {
    public enum Mode { TF, IDF, TFIDF }

    /**
     * The pool's n-grams of one length: {@code items} holds them back to back, {@code columns}
     * each one's output column; the first is the pool's n-gram number {@code first} (which picks
     * its ngram_indexes entry and its weight).
     */
    public record Grams(int length, long[] items, long[] columns, int first) {
        public int count() {
            return columns.length;
        }
    }

    /**
     * A node's attributes, checked: the n-grams it counts (lengths outside min..max dropped, as
     * ONNX Runtime drops them), the weights by pool n-gram (null: all 1), and the output width.
     */
    public record Pool(Mode mode, int minGram, int maxGram, int maxSkip, List<Grams> grams, float[] weights, int width) {
        /** What one hit on the pool's n-gram number {@code id} adds to its column (TF, TFIDF) or sets it to (IDF). */
        public float gain(int id) {
            return mode == Mode.TF || weights == null ? 1f : weights[id];
        }

        /** The pool of {@code n}, or an error naming the node and the attribute that is wrong. */
        public static Pool of(Node n) {
            if (n.has("pool_strings"))
                throw n.error("has pool_strings (string n-grams); Kiln has no string tensors and supports TfIdfVectorizer only with "
                        + "pool_int64s over int32/int64 token ids (map the tokens to ids before the model)");
            String m = n.attrString("mode", null);
            if (m == null) throw n.error("attribute 'mode' is required (TF, IDF or TFIDF)");
            Mode mode;
            try {
                mode = Mode.valueOf(m);
            } catch (IllegalArgumentException e) {
                throw n.error("attribute 'mode' is '" + m + "'; TfIdfVectorizer takes TF, IDF or TFIDF");
            }
            long minGram = required(n, "min_gram_length"), maxGram = required(n, "max_gram_length"), maxSkip = required(n, "max_skip_count");
            if (minGram < 1) throw n.error("attribute 'min_gram_length' is " + minGram + "; it must be positive");
            if (maxGram < minGram) throw n.error("attribute 'max_gram_length' is " + maxGram + ", less than min_gram_length " + minGram);
            if (maxSkip < 0) throw n.error("attribute 'max_skip_count' is " + maxSkip + "; it must not be negative");
            long[] counts = nonEmpty(n, "ngram_counts"), indexes = nonEmpty(n, "ngram_indexes"), pool = n.attrInts("pool_int64s", null);
            if (pool == null || pool.length == 0) throw n.error("attribute 'pool_int64s' is required and must not be empty");
            if (maxGram > counts.length)
                throw n.error("attribute 'max_gram_length' is " + maxGram + " but ngram_counts gives the start of only "
                        + counts.length + " n-gram lengths");
            if (maxSkip > Integer.MAX_VALUE) throw n.error("attribute 'max_skip_count' is out of range: " + maxSkip);
            long top = -1;
            for (long i : indexes) {
                if (i < 0) throw n.error("attribute 'ngram_indexes' holds " + i + "; output columns must not be negative");
                top = Math.max(top, i);
            }
            if (top >= Integer.MAX_VALUE) throw n.error("attribute 'ngram_indexes' reaches column " + top + ", too wide an output");
            float[] weights = n.attrFloats("weights", null);
            if (weights != null && weights.length != indexes.length)
                throw n.error("attribute 'weights' has " + weights.length + " values but ngram_indexes has " + indexes.length
                        + "; they must have the same length");
            List<Grams> grams = new ArrayList<>();
            int id = 0; // the pool n-gram's number, which picks its ngram_indexes entry
            for (int i = 0; i < counts.length; i++) {
                int len = i + 1;
                long start = counts[i], end = i + 1 < counts.length ? counts[i + 1] : pool.length;
                if (start < 0 || end < start || end > pool.length)
                    throw n.error("attribute 'ngram_counts' " + Arrays.toString(counts) + " puts the " + len + "-grams at pool_int64s["
                            + start + ", " + end + "), not within the pool of " + pool.length + " items");
                if ((end - start) % len != 0)
                    throw n.error("attribute 'ngram_counts' gives the " + len + "-grams " + (end - start) + " items of pool_int64s, "
                            + "not a whole number of " + len + "-grams");
                int k = (int) ((end - start) / len);
                if (id + k > indexes.length)
                    throw n.error("pool_int64s holds at least " + (id + k) + " n-grams but ngram_indexes gives output columns for only "
                            + indexes.length);
                if (len >= minGram && len <= maxGram) {
                    long[] items = Arrays.copyOfRange(pool, (int) start, (int) end), columns = Arrays.copyOfRange(indexes, id, id + k);
                    Set<List<Long>> seen = new HashSet<>();
                    for (int g = 0; g < k; g++) {
                        List<Long> gram = Arrays.stream(items, g * len, (g + 1) * len).boxed().toList();
                        if (!seen.add(gram)) throw n.error("pool_int64s holds the " + len + "-gram " + gram + " twice");
                    }
                    if (k > 0) grams.add(new Grams(len, items, columns, id));
                }
                id += k;
            }
            return new Pool(mode, (int) minGram, (int) maxGram, (int) maxSkip, grams, weights, (int) top + 1);
        }

        private static long required(Node n, String attr) {
            if (!n.has(attr)) throw n.error("attribute '" + attr + "' is required");
            return n.attrInt(attr, 0);
        }

        private static long[] nonEmpty(Node n, String attr) {
            long[] v = n.attrInts(attr, null);
            if (v == null || v.length == 0) throw n.error("attribute '" + attr + "' is required and must not be empty");
            return v;
        }
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, 1);
        Ops.requireOutputs(n, 1, 1);
        Value x = Ops.required(n, inputs, 0, "X");
        if (x.dtype() != DType.INT32 && x.dtype() != DType.INT64)
            throw n.error(Ops.in(n, 0, "X") + " has dtype " + x.dtype().numpyName + " but TfIdfVectorizer takes int32 or int64 "
                    + "token ids (string tokens are not supported)");
        int r = x.shape().rank();
        if (r != 1 && r != 2) throw n.error(Ops.in(n, 0, "X") + " has shape " + x.shape() + " but TfIdfVectorizer takes [C] or [N, C]");
        int width = Pool.of(n).width();
        Shape out = r == 1 ? Shape.of(width) : Shape.of(x.shape().dim(0), width);
        return List.of(Ops.out(n, 0, DType.FLOAT32, out));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape shape = Ops.inferFrom(this, n, inputs).get(0).shape();
        Pool pool = Pool.of(n);
        Tensor x = inputs.get(0);
        int cols = x.shape().dim(x.shape().rank() - 1), rows = cols == 0 ? 0 : x.size() / cols;
        float[] out = new float[Math.toIntExact(shape.numel())];
        for (int b = 0; b < rows; b++) {
            long[] row = new long[cols];
            for (int i = 0; i < cols; i++) row[i] = x.getLong(b * cols + i);
            count(pool, row, out, b * pool.width());
        }
        return List.of(Tensor.ofFloats(shape, out));
    }

    /** Adds the hits of one row into {@code out[at .. at + width)}, in ONNX Runtime's order (see the class doc). */
    private static void count(Pool pool, long[] row, float[] out, int at) {
        for (int skip = 0; skip <= pool.maxSkip(); skip++) {
            int step = skip + 1;
            for (int s = 0; s < row.length; s++) {
                for (Grams g : pool.grams()) {
                    if (g.length() == 1 && skip > 0) continue; // unigrams are the same at every skip
                    if (s + (long) (g.length() - 1) * step >= row.length) break; // nor does any longer n-gram fit
                    for (int e = 0; e < g.count(); e++) {
                        boolean hit = true;
                        for (int j = 0; j < g.length() && hit; j++) hit = row[s + j * step] == g.items()[e * g.length() + j];
                        if (!hit) continue;
                        int c = at + (int) g.columns()[e];
                        float gain = pool.gain(g.first() + e);
                        out[c] = pool.mode() == Mode.IDF ? gain : out[c] + gain;
                    }
                }
            }
        }
    }
}
