package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Main;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.frontend.zoo.Zoo;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors: bad input to {@code kiln compile} gets a one-paragraph message naming what failed, a
 * non-zero exit, no stack trace, and no output file (nor a temporary one) left behind.
 */
class CompileErrorsTest {
    @TempDir
    Path dir;

    record Outcome(int code, String err) {}

    private Outcome kiln(String... args) {
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args);
        return new Outcome(code, err.toString());
    }

    private void assertCleanFailure(Outcome o, Path outDir, String... mustMention) throws IOException {
        assertEquals(1, o.code(), "exit code; stderr: " + o.err());
        assertTrue(o.err().startsWith("kiln: error: "), "a user-facing error, got: " + o.err());
        assertFalse(o.err().contains("\tat "), "no stack trace without --verbose: " + o.err());
        for (String m : mustMention) assertTrue(o.err().contains(m), "the message should mention '" + m + "': " + o.err());
        try (Stream<Path> files = Files.list(outDir)) {
            List<Path> left = files.filter(p -> !p.getFileName().toString().endsWith(".onnx")).toList();
            assertEquals(List.of(), left, "nothing may be left in the output directory");
        }
    }

    @Test
    void unsupportedOpNamesNodeOpAndOpset() throws IOException {
        Graph g = new Graph("weird");
        g.opsets().put("", 13);
        g.inputs().add(new Value("x", DType.FLOAT32, new Shape(1, 4)));
        g.nodes().add(new Node("relu0", "Relu", "", List.of("x"), List.of("y"), Map.of(), 13));
        g.nodes().add(new Node("mystery1", "FrobnicateTensor", "", List.of("y"), List.of("z"), Map.of("level", new Attr.Int(3)), 13));
        g.outputs().add("z");
        Path model = dir.resolve("weird.onnx");
        OnnxWriter.write(g, model);
        Outcome o = kiln("compile", model.toString(), "-o", dir.resolve("weird.so").toString());
        assertCleanFailure(o, dir, "mystery1", "FrobnicateTensor", "opset 13");
    }

    @Test
    void garbageFileIsNotAnOnnxModel() throws IOException {
        Path model = dir.resolve("garbage.onnx");
        byte[] junk = new byte[4096];
        new java.util.Random(7).nextBytes(junk);
        Files.write(model, junk);
        assertCleanFailure(kiln("compile", model.toString(), "-o", dir.resolve("g.so").toString()), dir, "garbage.onnx");
    }

    @Test
    void truncatedFileIsReported() throws IOException {
        byte[] full = Zoo.onnxBytes("mlp");
        Path model = dir.resolve("cut.onnx");
        Files.write(model, Arrays.copyOf(full, full.length / 3));
        assertCleanFailure(kiln("compile", model.toString(), "-o", dir.resolve("cut.so").toString()), dir, "cut.onnx");
    }

    @Test
    void missingFileIsReported() throws IOException {
        Path model = dir.resolve("nowhere.onnx");
        assertCleanFailure(kiln("compile", model.toString(), "-o", dir.resolve("n.so").toString()), dir, "nowhere.onnx");
    }

    @Test
    void wrongInputShapeRankIsReported() throws IOException {
        Path model = dir.resolve("mlp.onnx");
        Files.write(model, Zoo.onnxBytes("mlp"));
        Outcome o = kiln("compile", model.toString(), "-o", dir.resolve("m.so").toString(), "--input-shape", "input=1,784,3");
        assertCleanFailure(o, dir, "input");
    }

    @Test
    void unknownInputNameIsReported() throws IOException {
        Path model = dir.resolve("mlp.onnx");
        Files.write(model, Zoo.onnxBytes("mlp"));
        Outcome o = kiln("compile", model.toString(), "-o", dir.resolve("m.so").toString(), "--input-shape", "pixels=1,784");
        assertCleanFailure(o, dir, "pixels");
    }

    @Test
    void malformedInputShapeFlagIsReported() throws IOException {
        Outcome o = kiln("compile", "zoo:mlp", "-o", dir.resolve("m.so").toString(), "--input-shape", "input=1,x");
        assertCleanFailure(o, dir, "--input-shape");
    }

    @Test
    void unknownTargetIsReported() throws IOException {
        Outcome o = kiln("compile", "zoo:mlp", "-o", dir.resolve("m.so").toString(), "--target", "riscv-vector");
        assertCleanFailure(o, dir, "riscv-vector");
    }

    @Test
    void staticWithoutEmitExeIsReported() throws IOException {
        Outcome o = kiln("compile", "zoo:mlp", "-o", dir.resolve("m.so").toString(), "--static");
        assertCleanFailure(o, dir, "--static", "--emit exe");
    }

    @Test
    void programNamedLikeALibraryIsReported() throws IOException {
        Outcome o = kiln("compile", "zoo:mlp", "-o", dir.resolve("x.so").toString(), "--emit", "exe");
        assertCleanFailure(o, dir, "x.so", "--emit exe", "without .so");
    }

    @Test
    void unknownEmitKindIsReported() throws IOException {
        Outcome o = kiln("compile", "zoo:mlp", "-o", dir.resolve("m").toString(), "--emit", "foo");
        assertCleanFailure(o, dir, "--emit 'foo'", "lib or exe");
    }

    @Test
    void missingSysrootIsReported() throws IOException {
        for (String emit : List.of("lib", "exe")) {
            Path out = dir.resolve(emit.equals("lib") ? "m.so" : "m");
            Outcome o = kiln("compile", "zoo:mlp", "-o", out.toString(), "--emit", emit, "--target", "aarch64-neon", "--sysroot", "/nonexistent");
            assertCleanFailure(o, dir, "--sysroot /nonexistent", "aarch64 C library");
        }
    }

    @Test
    void unknownCpuListsTheKnownOnes() throws IOException {
        Outcome o = kiln("compile", "zoo:mlp", "-o", dir.resolve("m.so").toString(), "--target", "aarch64-neon:cortex-x9");
        assertCleanFailure(o, dir, "cortex-x9", "cortex-a53", "cortex-a72", "cortex-a76", "neoverse-n1", "neoverse-v1", "apple-m1");
    }

    @Test
    void runningSomethingThatIsNotAKilnLibraryIsReported() throws IOException {
        Path fake = dir.resolve("fake.so");
        Files.writeString(fake, "not a library");
        Outcome o = kiln("run", fake.toString());
        assertEquals(1, o.code(), o.err());
        assertTrue(o.err().contains("fake.so"), o.err());
    }
}
