package dev.kiln.tests;

import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TfIdfVectorizer on long rows of few distinct tokens, so that n-grams repeat at every skip:
 * unigrams to trigrams with skips, each mode with weights, n-grams sharing an output column (IDF
 * keeps the weight of the last hit in ONNX Runtime's scan order), and an int32 vector whose pool
 * holds lengths outside min..max. Native library and reference
 * evaluator against ONNX Runtime.
 */
class TfIdfVectorizerMatchesOnnxRuntimeTest {
    @TempDir
    Path dir;

    /** 5 unigrams (7 never occurs), 8 bigrams and 7 trigrams over tokens 0..4: 20 n-grams, 42 items. */
    private static final long[] POOL = {
        0, 2, 3, 4, 7,
        0, 1, 1, 0, 2, 2, 3, 4, 4, 3, 1, 3, 0, 0, 2, 1,
        0, 1, 2, 1, 1, 1, 2, 0, 2, 3, 4, 0, 0, 0, 0, 4, 3, 2, 1, 0, 3,
    };
    private static final long[] COUNTS = {0, 5, 21};
    /** A permutation of 0..19 except that columns 6 and 13 take two n-grams each (0..19 minus 11 and 17). */
    private static final long[] COLUMNS = {3, 19, 0, 6, 12, 5, 13, 1, 18, 6, 8, 10, 2, 14, 16, 13, 4, 9, 7, 15};

    @Test
    void everyModeWithWeights() throws Exception {
        SplittableRandom rng = new SplittableRandom(5);
        float[] weights = new float[COLUMNS.length];
        for (int i = 0; i < weights.length; i++) weights[i] = (float) rng.nextDouble(0.1, 3);
        Tensor x = Tensor.generate(DType.INT64, new Shape(4, 200), i -> rng.nextInt(5));
        for (String mode : List.of("TF", "IDF", "TFIDF")) {
            Map<String, Attr> a = attrs(mode, 1, 3, 2, POOL, COUNTS, COLUMNS);
            if (!mode.equals("TF")) a.put("weights", new Attr.Floats(weights));
            OrtCheck.matches(dir, graph("tfidf_" + mode.toLowerCase(), DType.INT64, new Shape(4, 200), a), Map.of("x", x), 1e-5, 1e-5);
        }
    }

    @Test
    void int32VectorSkipsPoolLengthsOutsideTheRange() throws Exception {
        // min_gram_length 2: the unigrams are dropped, yet they still number the n-grams that pick ngram_indexes.
        SplittableRandom rng = new SplittableRandom(9);
        Tensor x = Tensor.generate(DType.INT32, new Shape(60), i -> rng.nextInt(4));
        Map<String, Attr> a = attrs("TFIDF", 2, 3, 3, POOL, COUNTS, COLUMNS);
        OrtCheck.matches(dir, graph("tfidf_int32", DType.INT32, new Shape(60), a), Map.of("x", x), 1e-5, 1e-5);
    }

    @Test
    void idfKeepsTheWeightOfTheLastHitInScanOrder() throws Exception {
        // Unigram 10 and bigram (10, 11) share column 0: start 0 hits both, start 2 the unigram again, whose weight stays.
        Map<String, Attr> a = attrs("IDF", 1, 2, 1, new long[] {10, 12, 10, 11}, new long[] {0, 2}, new long[] {0, 1, 0});
        a.put("weights", new Attr.Floats(new float[] {0.25f, 4f, 8f}));
        Tensor x = Tensor.ofLongs(new Shape(2, 4), 10, 11, 10, 12, 12, 10, 11, 3);
        OrtCheck.matches(dir, graph("tfidf_idf_order", DType.INT64, new Shape(2, 4), a), Map.of("x", x), 0, 0);
    }

    private static Map<String, Attr> attrs(String mode, long minGram, long maxGram, long maxSkip, long[] pool, long[] counts, long[] columns) {
        Map<String, Attr> a = new LinkedHashMap<>();
        a.put("mode", new Attr.Str(mode));
        a.put("min_gram_length", new Attr.Int(minGram));
        a.put("max_gram_length", new Attr.Int(maxGram));
        a.put("max_skip_count", new Attr.Int(maxSkip));
        a.put("pool_int64s", new Attr.Ints(pool));
        a.put("ngram_counts", new Attr.Ints(counts));
        a.put("ngram_indexes", new Attr.Ints(columns));
        return a;
    }

    private static Graph graph(String name, DType dtype, Shape shape, Map<String, Attr> attrs) {
        Graph g = new Graph(name);
        g.opsets().put("", 9);
        Value x = new Value("x", dtype, shape);
        g.inputs().add(x);
        g.values().put("x", x);
        g.setNodes(List.of(new Node("tfidf", "TfIdfVectorizer", "", List.of("x"), List.of("y"), attrs, 9)));
        g.outputs().add("y");
        return g;
    }
}
