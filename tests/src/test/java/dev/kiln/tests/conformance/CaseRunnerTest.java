package dev.kiln.tests.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.tests.conformance.CaseResult.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner itself: it passes a right case, fails a wrong one, and sorts out-of-scope ones out. */
class CaseRunnerTest {
    @TempDir Path tmp;
    Path root;

    @BeforeEach
    void data() {
        root = ConformanceSuite.dataRoot();
        Assumptions.assumeTrue(Files.isDirectory(root.resolve("node/test_add")), "ONNX backend test data not installed");
    }

    @Test
    void rightOutputsPass() {
        CaseResult r = new CaseRunner(tmp).run(ConformanceCase.of(root, "node/test_add"));
        assertEquals(Status.PASSED, r.status(), r.reason());
        assertEquals("Add", r.op());
    }

    @Test
    void wrongOutputsFail() throws IOException {
        // Add's model fed with Sub's data (same shapes): the expected outputs are x-y, Kiln computes x+y.
        Path dir = Files.createDirectories(tmp.resolve("node/test_add_with_sub_data/test_data_set_0"));
        Files.copy(root.resolve("node/test_add/model.onnx"), dir.getParent().resolve("model.onnx"));
        for (String f : new String[] {"input_0.pb", "input_1.pb", "output_0.pb"})
            Files.copy(root.resolve("node/test_sub/test_data_set_0/" + f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        CaseResult r = new CaseRunner(Files.createDirectories(tmp.resolve("work"))).run(ConformanceCase.of(tmp, "node/test_add_with_sub_data"));
        assertEquals(Status.FAILED, r.status());
        assertTrue(r.reason().startsWith("wrong output 0"), r.reason());
    }

    @Test
    void sequencesAreOutOfScope() {
        CaseResult r = new CaseRunner(tmp).run(ConformanceCase.of(root, "node/test_sequence_insert_at_back"));
        assertEquals(Status.OUT_OF_SCOPE, r.status());
        assertEquals("sequences", r.reason());
    }

    @Test
    void shapeInputsAreBoundOnlyWhenKilnAsks() {
        CaseResult reshape = new CaseRunner(tmp).run(ConformanceCase.of(root, "node/test_reshape_reduced_dims"));
        assertEquals(Status.PASSED, reshape.status(), reshape.reason());
        assertTrue(reshape.shapeInputsBound());
        assertEquals(false, new CaseRunner(tmp).run(ConformanceCase.of(root, "node/test_relu")).shapeInputsBound());
    }

    @Test
    void resultLinesRoundTrip() {
        CaseResult r = new CaseResult("node/test_x", Status.UNSUPPORTED, "Foo", true, "unsupported\top\nreason");
        assertEquals(new CaseResult("node/test_x", Status.UNSUPPORTED, "Foo", true, "unsupported op reason"), CaseResult.parse(r.toLine()));
    }

    @Test
    void reasonsDropTheNodeAndTheAdvice() {
        assertEquals("unsupported op 'Resize'",
                Reasons.shorten("node 'n0' (Resize, opset 19): unsupported op 'Resize'; Kiln supports: Abs, Add"));
    }
}
