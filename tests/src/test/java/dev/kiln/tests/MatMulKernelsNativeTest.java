package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Evaluator;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Correctness of the matmul kernels as compiled for this machine (register tiles, packed
 * weights, k-blocks, parallel panels): single-node MatMul and Gemm models through
 * {@link Compiler}, run natively on 1 and 2 threads, against the reference {@link Evaluator}.
 */
class MatMulKernelsNativeTest {
    @TempDir
    Path dir;

    private final SplittableRandom rnd = new SplittableRandom(11);

    /** A one-node model: inputs named in0.., constants c0..; returns the graph and its run-time inputs. */
    private final class Model {
        final Graph g = new Graph("mm");
        final List<String> ins = new ArrayList<>();
        final Map<String, Tensor> feeds = new LinkedHashMap<>();

        Model() {
            g.opsets().put("", 17);
        }

        Model in(long... dims) {
            String name = "in" + ins.size();
            Tensor t = random(dims);
            g.inputs().add(new Value(name, DType.FLOAT32, t.shape()));
            feeds.put(name, t);
            ins.add(name);
            return this;
        }

        Model constant(long... dims) {
            String name = "c" + ins.size();
            g.initializers().put(name, random(dims));
            ins.add(name);
            return this;
        }

        void check(String op, Map<String, Attr> attrs) {
            g.nodes().add(new Node("n0", op, "", ins, List.of("y"), attrs, 17));
            g.outputs().add("y");
            Tensor want = Evaluator.run(g, feeds).get("y");
            Path model = dir.resolve("m.onnx"), so = dir.resolve("m" + System.nanoTime() + ".so");
            OnnxWriter.write(g, model);
            Compiler.compile(model.toString(), so, new Compiler.Options(Target.host(), Map.of(), null, false));
            for (int threads : new int[] {1, 2}) {
                try (KilnLibrary lib = new KilnLibrary(so, threads)) {
                    Tensor got = lib.run(feeds).get("y");
                    assertEquals(want.shape(), got.shape(), op + " output shape");
                    for (int i = 0; i < want.size(); i++) {
                        double w = want.getDouble(i), x = got.getDouble(i);
                        int at = i;
                        assertTrue(Math.abs(w - x) <= 1e-4 + 1e-3 * Math.abs(w),
                                () -> op + " " + ins + " on " + threads + " thread(s): element " + at + " is " + x + ", expected " + w);
                    }
                }
            }
        }
    }

    private Tensor random(long... dims) {
        return Tensor.generate(DType.FLOAT32, Shape.of(dims), i -> rnd.nextDouble(-1, 1));
    }

    @Test
    void matmulWithPackedWeights() {
        new Model().in(128, 768).constant(768, 256).check("MatMul", Map.of());        // BERT-like, k-blocked, 4x4 tiles
        new Model().in(13, 300).constant(300, 80).check("MatMul", Map.of());          // nothing divides; 16-wide panels
        new Model().in(1, 67).constant(67, 128).check("MatMul", Map.of());            // one row
        new Model().in(2, 3, 17, 40).constant(40, 64).check("MatMul", Map.of());      // batched A, 2-D weight
        new Model().in(96).constant(96, 32).check("MatMul", Map.of());                // 1-D A
    }

    @Test
    void matmulWithRunTimeOperands() {
        new Model().in(12, 128, 64).in(12, 64, 128).check("MatMul", Map.of());        // attention scores
        new Model().in(12, 128, 128).in(12, 128, 64).check("MatMul", Map.of());       // attention context
        new Model().in(2, 1, 9, 33).in(3, 33, 48).check("MatMul", Map.of());          // broadcast batch
        new Model().in(7, 5).in(5, 13).check("MatMul", Map.of());                     // no whole vector
    }

    @Test
    void gemm() {
        new Model().in(70, 96).constant(96, 96).constant(96).check("Gemm", Map.of("transB", new Attr.Int(1)));
        new Model().in(40, 6).constant(40, 48).constant(6, 1)
                .check("Gemm", Map.of("transA", new Attr.Int(1), "alpha", new Attr.Float(0.5f), "beta", new Attr.Float(2f)));
        new Model().in(9, 11).constant(32, 9).in(11, 32)
                .check("Gemm", Map.of("transA", new Attr.Int(1), "transB", new Attr.Int(1), "beta", new Attr.Float(-1f)));
        new Model().in(5, 20).in(20, 16).check("Gemm", Map.of("alpha", new Attr.Float(3f)));
    }
}
