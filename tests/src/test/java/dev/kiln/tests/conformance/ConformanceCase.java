package dev.kiln.tests.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One ONNX backend test case: a folder holding {@code model.onnx} and
 * {@code test_data_set_N/{input,output}_K.pb}. {@code id} is "suite/name", e.g. "node/test_add".
 */
public record ConformanceCase(String suite, String name, Path dir) {

    /** The suites the report covers, in report order. */
    public static final List<String> SUITES = List.of("node", "pytorch-converted", "pytorch-operator", "simple");

    public String id() {
        return suite + "/" + name;
    }

    public Path model() {
        return dir.resolve("model.onnx");
    }

    /** The case named by an id under the test-data root. */
    public static ConformanceCase of(Path root, String id) {
        int slash = id.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException("case id '" + id + "' should be SUITE/NAME");
        return new ConformanceCase(id.substring(0, slash), id.substring(slash + 1), root.resolve(id));
    }

    /** Every case of every suite under root, sorted by suite then name. */
    public static List<ConformanceCase> all(Path root) {
        List<ConformanceCase> r = new ArrayList<>();
        for (String suite : SUITES) {
            Path dir = root.resolve(suite);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> Files.isRegularFile(p.resolve("model.onnx"))).sorted()
                        .forEach(p -> r.add(new ConformanceCase(suite, p.getFileName().toString(), p)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return r;
    }
}
