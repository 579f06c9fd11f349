package dev.kiln.tests.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.tests.conformance.CaseResult.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The ONNX backend conformance suite. By default it runs every case listed in
 * {@code conformance/expected-passes.txt} and fails, naming all of them, if any stops passing.
 * With {@code -Dkiln.conformance=report} (what {@code scripts/conformance-report} does) it runs
 * every case, rewrites docs/conformance.md and, when nothing regressed, the expected-pass list.
 */
class ConformanceTest {
    static final String COMMAND = "scripts/conformance-report";

    @Test
    void expectedPassesStillPass() throws IOException {
        Path root = ConformanceSuite.dataRoot();
        Assumptions.assumeTrue(Files.isDirectory(root.resolve("node")),
                "ONNX backend test data not found under " + root + " (install libonnx-testdata, or set -Dkiln.onnx.testdata)");
        Path repo = repoRoot();
        Path expectedFile = repo.resolve("tests/src/test/resources/conformance/expected-passes.txt");
        List<String> expected = Files.exists(expectedFile)
                ? Files.readAllLines(expectedFile).stream().map(String::strip).filter(s -> !s.isEmpty() && !s.startsWith("#")).toList()
                : List.of();
        boolean report = "report".equals(System.getProperty("kiln.conformance"));
        int workers = Integer.getInteger("kiln.conformance.workers", Runtime.getRuntime().availableProcessors());
        String filter = System.getProperty("kiln.conformance.filter"); // a regex over case ids, to try a few cases
        List<String> ids = (report ? ConformanceCase.all(root).stream().map(ConformanceCase::id).toList() : expected)
                .stream().filter(id -> filter == null || id.matches(filter)).toList();
        if (!report) assertTrue(expected.size() > 0, "the expected-pass list " + expectedFile + " is empty; regenerate it with " + COMMAND);

        long t0 = System.nanoTime();
        List<CaseResult> results = ConformanceSuite.run(root, ids, workers, 120);
        System.out.printf("conformance: %d cases in %.1f s%n", ids.size(), (System.nanoTime() - t0) / 1e9);

        List<String> regressions = new ArrayList<>();
        TreeSet<String> passed = new TreeSet<>();
        for (CaseResult r : results) if (r.status() == Status.PASSED) passed.add(r.id());
        for (CaseResult r : results)
            if (expected.contains(r.id()) && r.status() != Status.PASSED)
                regressions.add(r.id() + ": " + r.status().name().toLowerCase() + ": " + r.reason());
        if (report && filter != null) {
            results.forEach(r -> System.out.println(r.toLine()));
        } else if (report) {
            Files.createDirectories(repo.resolve("docs"));
            Files.writeString(repo.resolve("docs/conformance.md"), ReportWriter.write(results, COMMAND));
            if (regressions.isEmpty()) {
                Files.createDirectories(expectedFile.getParent());
                Files.writeString(expectedFile, "# ONNX backend test cases that pass; written by " + COMMAND
                        + ", checked by ConformanceTest\n" + String.join("\n", passed) + "\n");
            }
        }
        if (!regressions.isEmpty())
            fail(regressions.size() + " conformance case(s) that passed before no longer pass:\n  " + String.join("\n  ", regressions));
    }

    /** The repository root: the first folder upwards holding mvnw (the tests run in tests/). */
    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("mvnw"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("cannot find the repository root (no mvnw above " + Path.of("").toAbsolutePath() + ")");
        return p;
    }
}
