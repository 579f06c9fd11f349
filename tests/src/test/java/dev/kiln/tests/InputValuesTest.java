package dev.kiln.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.driver.Compiler;
import dev.kiln.driver.KilnLibrary;
import dev.kiln.frontend.InputValues;
import dev.kiln.frontend.OnnxWriter;
import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --input-value}: an input that decides a shape is refused with an error that names the
 * graph inputs behind it and the flag; bound, it becomes a constant and the library computes
 * the right thing without taking it.
 */
class InputValuesTest {
    @TempDir
    Path dir;

    /** data [2, 3, 4] reshaped to Concat(n, [2, 3]) where n ([1], int64) is a graph input. */
    private Path model() {
        Graph g = new Graph("reshape_by_input");
        g.opsets().put("", 14);
        g.inputs().add(new Value("data", DType.FLOAT32, new Shape(2, 3, 4)));
        g.inputs().add(new Value("n", DType.INT64, new Shape(1)));
        g.values().put("data", g.inputs().get(0));
        g.values().put("n", g.inputs().get(1));
        g.initializers().put("rest", Tensor.ofLongs(new Shape(2), 2, 3));
        g.nodes().add(new Node("concat", "Concat", "", List.of("n", "rest"), List.of("shape"), Map.of("axis", new Attr.Int(0)), 14));
        g.nodes().add(new Node("reshape", "Reshape", "", List.of("data", "shape"), List.of("out"), Map.of(), 14));
        g.outputs().add("out");
        Path p = dir.resolve("reshape.onnx");
        OnnxWriter.write(g, p);
        return p;
    }

    private Compiler.Options options(Map<String, List<String>> values) {
        return new Compiler.Options(Target.host(), Map.of(), null, false, dev.kiln.schedules.space.ConfigSource.DEFAULTS,
                dev.kiln.codegen.Packaging.LIBRARY, null, values);
    }

    @Test
    void refusalNamesTheInputBehindTheShapeAndTheFlag() {
        KilnException e = assertThrows(KilnException.class, () -> Compiler.compile(model().toString(), dir.resolve("a.so"), options(Map.of())));
        assertTrue(e.getMessage().contains("computed from graph input 'n'") && e.getMessage().contains("--input-value n="), e.getMessage());
    }

    @Test
    void boundInputBecomesAConstant() {
        Path so = dir.resolve("b.so");
        Compiler.compile(model().toString(), so, options(InputValues.parse(List.of("n=4"))));
        try (KilnLibrary lib = new KilnLibrary(so, 1)) {
            assertEquals(List.of("data"), lib.inputInfo().stream().map(i -> i.name()).toList(), "n is no longer an input");
            Tensor data = Tensor.generate(DType.FLOAT32, new Shape(2, 3, 4), i -> i * 0.5 - 3);
            Tensor out = lib.run(Map.of("data", data)).get("out");
            assertEquals(new Shape(4, 2, 3), out.shape());
            assertArrayEquals(data.floats(), out.floats());
        }
    }

    @Test
    void tuningTakesTheSameBinding() {
        var target = Target.host();
        var ex = dev.kiln.autotune.tune.TaskExtractor.fromModel(model().toString(), Map.of(), InputValues.parse(List.of("n=4")), target,
                dev.kiln.driver.GraphPipeline.passes(target));
        assertEquals(List.of("data"), ex.graph().inputs().stream().map(Value::name).toList(), "n is bound, not an input to tune with");
        assertTrue(!ex.tasks().isEmpty(), "the reshape is a task");
    }

    @Test
    void wrongCountsNamesAndValuesAreClearErrors() {
        String m = model().toString();
        assertMessage(m, "n=4,5", "has shape [1] (1 values) but 2 were given");
        assertMessage(m, "size=4", "has no input named 'size'; its inputs are data, n");
        assertMessage(m, "n=4.5", "'4.5' is not a int64 value");
        KilnException e = assertThrows(KilnException.class, () -> InputValues.parse(List.of("n")));
        assertTrue(e.getMessage().contains("expected NAME=V1,V2"), e.getMessage());
    }

    private void assertMessage(String model, String spec, String expected) {
        KilnException e = assertThrows(KilnException.class,
                () -> Compiler.compile(model, dir.resolve("c.so"), options(InputValues.parse(List.of(spec)))));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
