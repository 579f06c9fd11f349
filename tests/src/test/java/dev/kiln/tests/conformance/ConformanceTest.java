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
 * The same cases are also compiled for aarch64 and run under qemu: every case that passes on
 * this machine must pass there too (the aarch64 column of the report).
 */
class ConformanceTest {
    static final String COMMAND = "scripts/conformance-report";
    /** The aarch64 target the cases are cross-compiled for and run under qemu-aarch64 with. */
    static final String AARCH64 = "aarch64-neon:neoverse-n1";
    /** The CUDA target whose PTX is assembled for every expected pass (sm_80 PTX also assembles for sm_90). */
    static final String CUDA = "cuda-sm80";

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
        List<ReportWriter.Column> columns = new ArrayList<>();
        if (report) {
            List<String> passedIds = List.copyOf(passed);
            if (aarch64Available()) columns.add(new ReportWriter.Column(AARCH64, "a static program per case, cross-linked against "
                    + "Debian's arm64 sysroot, run under qemu-aarch64; checked by expectedPassesAlsoPassOnAarch64",
                    timed(root, passedIds, workers, AARCH64)));
            String opencl = openClTarget();
            if (opencl != null) columns.add(new ReportWriter.Column(opencl, "this machine's first OpenCL device, the library run "
                    + "through its C ABI; checked by expectedPassesAlsoPassOnOpenCl", timed(root, passedIds, workers, opencl)));
            if (dev.kiln.codegen.cuda.Ptxas.find().isPresent()) columns.add(new ReportWriter.Column(CUDA, "the PTX module assembled by "
                    + "ptxas for sm_80 and sm_90 (outputs are checked on a GPU by scripts/gpu-check); checked by expectedPassesAssembleForCuda",
                    timed(root, passedIds, workers, CUDA)));
        }
        if (report && filter != null) {
            results.forEach(r -> System.out.println(r.toLine()));
            for (var col : columns) col.results().forEach(r -> System.out.println(col.target() + "\t" + r.toLine()));
        } else if (report) {
            Files.createDirectories(repo.resolve("docs"));
            Files.writeString(repo.resolve("docs/conformance.md"), ReportWriter.write(results, columns, COMMAND));
            if (regressions.isEmpty()) {
                Files.createDirectories(expectedFile.getParent());
                Files.writeString(expectedFile, "# ONNX backend test cases that pass; written by " + COMMAND
                        + ", checked by ConformanceTest\n" + String.join("\n", passed) + "\n");
            }
        }
        if (!regressions.isEmpty())
            fail(regressions.size() + " conformance case(s) that passed before no longer pass:\n  " + String.join("\n  ", regressions));
    }

    /**
     * Every expected pass, cross-compiled for aarch64 (a static program per case) and run under
     * qemu-aarch64, gives the expected outputs too. Skipped when this machine cannot run aarch64
     * code (scripts/test installs qemu-user, gcc-aarch64-linux-gnu and libc6-dev-arm64-cross).
     */
    @Test
    void expectedPassesAlsoPassOnAarch64() throws IOException {
        Assumptions.assumeTrue(aarch64Available(), "qemu-aarch64, aarch64-linux-gnu-gcc or /usr/aarch64-linux-gnu missing");
        expectedPassesPassOn(AARCH64, "under qemu");
    }

    /**
     * Every expected pass compiled for OpenCL (this machine's first device: PoCL's CPU device in
     * CI) and run through the library's C ABI gives the expected outputs too. Skipped only when
     * this machine has no OpenCL platform (scripts/test installs pocl-opencl-icd).
     */
    @Test
    void expectedPassesAlsoPassOnOpenCl() throws IOException {
        String target = openClTarget();
        Assumptions.assumeTrue(target != null, "no OpenCL device here (install pocl-opencl-icd and ocl-icd-libopencl1)");
        expectedPassesPassOn(target, "on OpenCL");
    }

    /**
     * Every expected pass compiles for CUDA (cuda-sm80) into a PTX module that ptxas accepts for
     * sm_80 and sm_90. The outputs are checked only on a GPU (scripts/gpu-check); skipped when
     * ptxas is not installed (the CUDA toolkit).
     */
    @Test
    void expectedPassesAssembleForCuda() throws IOException {
        Assumptions.assumeTrue(dev.kiln.codegen.cuda.Ptxas.find().isPresent(), "ptxas not found (the CUDA toolkit is not installed)");
        expectedPassesPassOn(CUDA, "assembled by ptxas for " + String.join(" and ", CaseRunner.PTX_ARCHS));
    }

    /** This machine's first OpenCL device as a target name, or null when there is none. */
    static String openClTarget() {
        try {
            return dev.kiln.targets.Target.parse("opencl").name();
        } catch (dev.kiln.targets.TargetException e) {
            return null;
        }
    }

    private static List<CaseResult> timed(Path root, List<String> ids, int workers, String target) {
        long t0 = System.nanoTime();
        List<CaseResult> r = ConformanceSuite.run(root, ids, workers, 300, target);
        System.out.printf("conformance on %s: %d cases in %.1f s%n", target, ids.size(), (System.nanoTime() - t0) / 1e9);
        return r;
    }

    private void expectedPassesPassOn(String target, String how) throws IOException {
        Path root = ConformanceSuite.dataRoot();
        Assumptions.assumeTrue(Files.isDirectory(root.resolve("node")), "ONNX backend test data not found under " + root);
        Assumptions.assumeFalse("report".equals(System.getProperty("kiln.conformance")), "the report run covers " + target + " itself");
        Path expectedFile = repoRoot().resolve("tests/src/test/resources/conformance/expected-passes.txt");
        String filter = System.getProperty("kiln.conformance.filter");
        List<String> ids = Files.readAllLines(expectedFile).stream().map(String::strip)
                .filter(x -> !x.isEmpty() && !x.startsWith("#") && (filter == null || x.matches(filter))).toList();
        int workers = Integer.getInteger("kiln.conformance.workers", Runtime.getRuntime().availableProcessors());
        long t0 = System.nanoTime();
        List<CaseResult> results = ConformanceSuite.run(root, ids, workers, 300, target);
        System.out.printf("conformance on %s %s: %d cases in %.1f s%n", target, how, ids.size(), (System.nanoTime() - t0) / 1e9);
        List<String> failures = results.stream().filter(r -> r.status() != Status.PASSED)
                .map(r -> r.id() + ": " + r.status().name().toLowerCase() + ": " + r.reason()).toList();
        if (!failures.isEmpty())
            fail(failures.size() + " case(s) that pass on this machine fail on " + target + " " + how + ":\n  " + String.join("\n  ", failures));
    }

    static boolean aarch64Available() {
        return dev.kiln.targets.cpu.ProgramRuntime.qemuPath().isPresent() && Files.isDirectory(Path.of("/usr/aarch64-linux-gnu/lib"))
                && dev.kiln.targets.cpu.ProgramRuntime.onPath("aarch64-linux-gnu-gcc").isPresent();
    }

    /** The repository root: the first folder upwards holding mvnw (the tests run in tests/). */
    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("mvnw"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("cannot find the repository root (no mvnw above " + Path.of("").toAbsolutePath() + ")");
        return p;
    }
}
