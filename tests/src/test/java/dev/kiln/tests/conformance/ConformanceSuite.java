package dev.kiln.tests.conformance;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Runs many cases in a few child JVMs (one per core by default), so that one JVM's warm
 * compiler serves hundreds of cases while a crashing or hanging case costs only a restart.
 */
public final class ConformanceSuite {
    private ConformanceSuite() {}

    /** Where the ONNX backend test data lives (Debian's libonnx-testdata), unless -Dkiln.onnx.testdata says otherwise. */
    public static Path dataRoot() {
        return Path.of(System.getProperty("kiln.onnx.testdata", "/usr/include/onnx/backend/test/data"));
    }

    /** Results in the order of {@code cases}. A case that hangs past {@code caseTimeoutSeconds} fails as timed out. */
    public static List<CaseResult> run(Path root, List<String> ids, int workers, long caseTimeoutSeconds) {
        return run(root, ids, workers, caseTimeoutSeconds, "host");
    }

    /** As {@link #run(Path, List, int, long)}, each case compiled for {@code target} (run under its device runtime). */
    public static List<CaseResult> run(Path root, List<String> ids, int workers, long caseTimeoutSeconds, String target) {
        Path tmp;
        try {
            tmp = Files.createTempDirectory("kiln-conformance-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<List<String>> shares = new ArrayList<>();
        for (int w = 0; w < workers; w++) shares.add(new ArrayList<>());
        for (int i = 0; i < ids.size(); i++) shares.get(i % workers).add(ids.get(i));
        Map<String, CaseResult> results = Collections.synchronizedMap(new LinkedHashMap<>());
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                int wid = w;
                fs.add(pool.submit(() -> {
                    runShare(root, shares.get(wid), tmp.resolve("w" + wid), caseTimeoutSeconds, results, target);
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        } catch (Exception e) {
            throw new IllegalStateException("conformance workers failed: " + e, e);
        } finally {
            pool.shutdownNow();
            deleteTree(tmp);
        }
        List<CaseResult> r = new ArrayList<>();
        for (String id : ids) r.add(results.get(id));
        return r;
    }

    private static void runShare(Path root, List<String> ids, Path dir, long timeoutS, Map<String, CaseResult> results, String target)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        List<String> left = new ArrayList<>(ids);
        int round = 0;
        while (!left.isEmpty()) {
            Path casesFile = dir.resolve("cases-" + round + ".txt"), journal = dir.resolve("journal-" + round + ".txt");
            round++;
            Files.write(casesFile, left);
            Files.writeString(journal, "");
            Process p = new ProcessBuilder(javaCommand(root, casesFile, journal, dir.resolve("work"), target))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile()).start();
            long lastSize = -1, lastChange = System.nanoTime();
            boolean timedOut = false;
            while (!p.waitFor(200, TimeUnit.MILLISECONDS)) {
                long size = Files.size(journal);
                if (size != lastSize) {
                    lastSize = size;
                    lastChange = System.nanoTime();
                } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(timeoutS)) {
                    p.destroyForcibly().waitFor();
                    timedOut = true;
                    break;
                }
            }
            String started = null;
            for (String line : Files.readAllLines(journal)) {
                if (line.startsWith("START\t")) started = line.substring(6);
                else if (line.startsWith("RESULT\t")) {
                    CaseResult r = CaseResult.parse(line.substring(7));
                    results.put(r.id(), r);
                    left.remove(r.id());
                    started = null;
                }
            }
            if (started != null) {
                String why = timedOut ? "timed out (no result after " + timeoutS + " s)" : "crashed the process (exit " + p.exitValue() + ")";
                results.put(started, new CaseResult(started, CaseResult.Status.FAILED, "?", false, why));
                left.remove(started);
            } else if (!left.isEmpty() && p.exitValue() != 0) {
                // the worker died before starting a case (e.g. could not start the JVM): give up on the rest
                for (String id : left)
                    results.put(id, new CaseResult(id, CaseResult.Status.FAILED, "?", false, "worker exited " + p.exitValue()
                            + " before running it: " + tail(dir.resolve("log.txt"))));
                left.clear();
            }
        }
    }

    private static List<String> javaCommand(Path root, Path casesFile, Path journal, Path work, String target) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Xmx2g", "-XX:+UseSerialGC", "-Xss8m", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(ConformanceWorker.class.getName(), root.toString(), casesFile.toString(), journal.toString(), work.toString(), target));
        return cmd;
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(Collections.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException ignored) {
            // scratch files under the temp folder
        }
    }
}
