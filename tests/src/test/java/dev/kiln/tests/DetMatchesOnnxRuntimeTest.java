package dev.kiln.tests;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Det on a batch of matrices that need pivoting (a zero on the diagonal), one singular and one
 * of size 1, besides random ones: native library and reference evaluator against ONNX Runtime.
 */
class DetMatchesOnnxRuntimeTest {
    @TempDir
    Path dir;

    @Test
    void batchOfMatrices() throws Exception {
        for (int m : new int[] {1, 5}) {
            Graph g = new Graph("det" + m);
            g.opsets().put("", 11);
            Value x = new Value("x", DType.FLOAT32, new Shape(2, 3, m, m));
            g.inputs().add(x);
            g.values().put("x", x);
            g.setNodes(List.of(new Node("det", "Det", "", List.of("x"), List.of("y"), Map.of(), 11)));
            g.outputs().add("y");
            SplittableRandom rng = new SplittableRandom(17);
            Tensor t = Tensor.generate(DType.FLOAT32, x.shape(), i -> rng.nextDouble(-2, 2));
            if (m == 5) {
                for (int j = 0; j < 5; j++) t.setDouble(j * 5 + j, 0); // matrix 0: zeros on the diagonal
                for (int j = 0; j < 5; j++) t.setDouble(25 + 10 + j, 2 * t.getDouble(25 + 5 + j)); // matrix 1: row 2 = 2 row 1
            }
            OrtCheck.matches(dir, g, Map.of("x", t), 1e-5, 1e-4);
        }
    }
}
