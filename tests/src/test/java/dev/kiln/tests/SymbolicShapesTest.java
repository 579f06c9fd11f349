package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compare;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.driver.Main;
import dev.kiln.driver.OrtModel;
import dev.kiln.frontend.onnx.OnnxProto;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Tensor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models as exporters write them: symbolic batch (and spatial) dimensions, bound at compile time
 * with --input-shape; the compiled library matches ONNX Runtime run on the symbolic model.
 */
class SymbolicShapesTest {
    @TempDir
    Path dir;

    /** The zoo model with the named input dimensions replaced by dim_params. */
    private Path symbolic(String model, Map<Integer, String> dims) throws Exception {
        OnnxProto.ModelProto.Builder m = OnnxProto.ModelProto.parseFrom(Zoo.onnxBytes(model)).toBuilder();
        var shape = m.getGraphBuilder().getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
        dims.forEach((i, name) -> shape.setDim(i, OnnxProto.TensorShapeProto.Dimension.newBuilder().setDimParam(name)));
        var out = m.getGraphBuilder().getOutputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
        if (dims.containsKey(0)) out.setDim(0, OnnxProto.TensorShapeProto.Dimension.newBuilder().setDimParam(dims.get(0)));
        Path p = dir.resolve(model + "-symbolic.onnx");
        Files.write(p, m.build().toByteArray());
        return p;
    }

    private int kiln(StringWriter err, String... args) {
        return Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args);
    }

    @Test
    void batchDimensionBoundAtCompileTime() throws Exception {
        Path model = symbolic("mlp", Map.of(0, "batch"));
        Path so = dir.resolve("mlp4.so");
        StringWriter err = new StringWriter();
        assertEquals(0, kiln(err, "compile", model.toString(), "-o", so.toString(), "--input-shape", "input=4,784"), err.toString());
        try (KilnLibrary lib = new KilnLibrary(so, 1); OrtModel ort = new OrtModel(Files.readAllBytes(model), 1)) {
            assertEquals(4L, lib.inputInfo().get(0).shape()[0]);
            Map<String, Tensor> in = lib.randomInputs(3);
            Map<String, Tensor> expected = ort.run(in);
            Map<String, Tensor> actual = lib.run(in);
            for (var e : expected.entrySet()) {
                Compare c = Compare.of(actual.get(e.getKey()), e.getValue(), 1e-4, 1e-3);
                assertTrue(c.ok(), c.detail());
            }
        }
    }

    @Test
    void spatialDimensionsBoundAtCompileTime() throws Exception {
        Path model = symbolic("resnet18", Map.of(0, "N", 2, "H", 3, "W"));
        Path so = dir.resolve("r160.so");
        StringWriter err = new StringWriter();
        assertEquals(0, kiln(err, "compile", model.toString(), "-o", so.toString(), "--input-shape", "input=1,3,160,128"), err.toString());
        try (KilnLibrary lib = new KilnLibrary(so, 2); OrtModel ort = new OrtModel(Files.readAllBytes(model), 1)) {
            Map<String, Tensor> in = lib.randomInputs(5);
            Compare c = Compare.of(lib.run(in).get("output"), ort.run(in).get("output"), 1e-4, 1e-3);
            assertTrue(c.ok(), c.detail());
        }
    }

    @Test
    void unboundSymbolicDimensionIsAClearError() throws Exception {
        Path model = symbolic("mlp", Map.of(0, "batch"));
        StringWriter err = new StringWriter();
        assertEquals(1, kiln(err, "compile", model.toString(), "-o", dir.resolve("x.so").toString()));
        assertTrue(err.toString().contains("batch") && err.toString().contains("--input-shape"), err.toString());
        assertTrue(Files.notExists(dir.resolve("x.so")));
    }
}
