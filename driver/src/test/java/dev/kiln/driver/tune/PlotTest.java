package dev.kiln.driver.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.schedules.ops.Workload;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.targets.Target;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tuning-curve PNG and its latency series, on synthetic tunes: no kernel is built or measured.
 */
class PlotTest {
    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final String[] OPS = {"Conv+Add+Relu", "Conv+Relu", "MatMul+Add", "Conv", "Gemm+Relu",
            "ReduceMean+Sub+Mul+Mul+ReduceMean+Add+Sqrt+Div+Mul+Add", "Softmax", "Conv+Clip"};

    /** One synthetic measurement: which task, when, and its throughput (0 for an error). */
    record Trial(int task, Instant at, double gflops) {}

    static TaskExtractor.Task task(int i, int weight, double flops) {
        byte[] hash = new byte[8];
        new Random(i).nextBytes(hash);
        String key = OPS[i % OPS.length] + "-" + HexFormat.of().formatHex(hash);
        return new TaskExtractor.Task(new Workload(key, OPS[i % OPS.length] + " f32 task " + i, "task " + i),
                null, null, ConfigSpace.EMPTY, weight, flops);
    }

    /** What Report.rows makes of the records: the first trial of each task is its default config. */
    static List<Report.Row> rows(List<TaskExtractor.Task> tasks, List<Trial> trials) {
        List<Report.Row> rows = new ArrayList<>();
        for (int k = 0; k < tasks.size(); k++) {
            int trialCount = 0, errors = 0;
            double def = 0, best = 0;
            List<Double> curve = new ArrayList<>();
            List<Instant> at = new ArrayList<>();
            for (Trial t : trials) {
                if (t.task() != k) continue;
                if (t.gflops() <= 0) errors++;
                if (trialCount == 0) def = t.gflops();
                best = Math.max(best, t.gflops());
                curve.add(best);
                at.add(t.at());
                trialCount++;
            }
            rows.add(new Report.Row(tasks.get(k), trialCount, errors, def, best, curve, at));
        }
        return rows;
    }

    /**
     * A tune of 35 tasks as the tune loop does it: every default config first, then 400 trials
     * handed to the tasks at random, a tenth of them errors; sometimes two records share a time.
     */
    static List<Trial> tune(List<TaskExtractor.Task> tasks, double[] defaults, Random rng) {
        List<Trial> trials = new ArrayList<>();
        long micros = 0;
        for (int k = 0; k < tasks.size(); k++) trials.add(new Trial(k, T0.plusNanos(1000 * micros++), defaults[k]));
        for (int i = 0; i < 400; i++) {
            int k = rng.nextInt(tasks.size());
            double g = rng.nextDouble() < 0.1 ? 0 : defaults[k] * (0.4 + 1.4 * rng.nextDouble());
            if (rng.nextDouble() > 0.05) micros++;
            trials.add(new Trial(k, T0.plusNanos(1000 * micros), g));
        }
        // Records measured at the same time are ordered by task (as Plot.commitOrder does; the sort is stable).
        trials.sort(java.util.Comparator.comparing(Trial::at).thenComparingInt(Trial::task));
        return trials;
    }

    static List<TaskExtractor.Task> tasks(int n, Random rng) {
        List<TaskExtractor.Task> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) tasks.add(task(i, 1 + rng.nextInt(6), Math.pow(10, 6 + 3 * rng.nextDouble())));
        return tasks;
    }

    @Test
    void latencySeriesOfThirtyFiveTasks(@TempDir Path dir) throws Exception {
        Random rng = new Random(42);
        List<TaskExtractor.Task> tasks = tasks(35, rng);
        double[] defaults = rng.doubles(35, 2, 80).toArray();
        List<Trial> trials = tune(tasks, defaults, rng);
        List<Report.Row> rows = rows(tasks, trials);

        // The global order is the order of measurement, each task keeping its own.
        int[] order = Plot.commitOrder(rows);
        assertEquals(trials.size(), order.length);
        for (int i = 0; i < order.length; i++) assertEquals(trials.get(i).task(), order[i], "trial " + (i + 1));

        Plot.Series s = Plot.latencySeries(rows);
        Report.Totals totals = Report.totals(rows);
        assertEquals(35, s.counted());
        assertEquals(435, s.trials());
        assertEquals(34, s.firstComplete(), "complete once the 35th default is measured");
        for (int i = 0; i < s.firstComplete(); i++) assertTrue(Double.isNaN(s.ms()[i]), "partial at trial " + (i + 1));
        for (int i = s.firstComplete() + 1; i < s.trials(); i++)
            assertTrue(s.ms()[i] <= s.ms()[i - 1], "rises at trial " + (i + 1) + ": " + s.ms()[i - 1] + " -> " + s.ms()[i]);

        // The ends are the table's totals, the same sums exactly.
        double last = s.ms()[s.trials() - 1];
        assertEquals(totals.tunedSeconds() * 1e3, last);
        assertEquals(totals.defaultSeconds() * 1e3, s.defaultMs());
        assertEquals(s.defaultMs(), s.ms()[s.firstComplete()], "right after the defaults the estimate is the default total");
        assertTrue(s.ms()[s.firstComplete()] <= s.defaultMs());
        assertTrue(last < s.defaultMs(), "400 trials found nothing faster: " + last);
        String table = Report.table(rows);
        Matcher m = Pattern.compile("tuned kernels: ([0-9.]+) ms per inference on default configs, ([0-9.]+) ms tuned").matcher(table);
        assertTrue(m.find(), table);
        assertEquals(m.group(1), String.format(Locale.ROOT, "%.3f", s.defaultMs()));
        assertEquals(m.group(2), String.format(Locale.ROOT, "%.3f", last));

        // Every point against a direct computation from the trials measured by then.
        for (int i = s.firstComplete(); i < s.trials(); i++) {
            double[] best = new double[35];
            for (Trial t : trials.subList(0, i + 1)) best[t.task()] = Math.max(best[t.task()], t.gflops());
            double ms = 0;
            for (int k = 0; k < 35; k++) ms += tasks.get(k).weight() * tasks.get(k).flops() / (best[k] * 1e9) * 1e3;
            assertEquals(ms, s.ms()[i], 1e-9 * ms, "trial " + (i + 1));
        }

        Path png = dir.resolve("out").resolve("curve.png");
        Plot.write(rows, "kiln tune zoo:synthetic on x86_64-avx2", png);
        Plot.write(rows, "kiln tune zoo:synthetic on x86_64-avx2", png); // replaces the first one
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "not a readable PNG: " + png);
        assertEquals(Plot.WIDTH, img.getWidth());
        assertEquals(Plot.HEIGHT, img.getHeight());
        assertTrue(colors(img) > 10, "a blank image");
        try (Stream<Path> files = Files.list(png.getParent())) {
            assertEquals(List.of(png), files.toList(), "a temporary file was left beside the PNG");
        }
        keep(png);
    }

    @Test
    void tasksWithoutADefaultAreLeftOutAndTheLineStartsOnceEveryCountedTaskIsMeasured(@TempDir Path dir) throws Exception {
        List<TaskExtractor.Task> tasks = List.of(task(0, 2, 2e9), task(1, 1, 1e9), task(2, 3, 1e9));
        // Task 2's default failed; task 1 is measured last; two records share a time (task order breaks the tie).
        List<Trial> trials = List.of(
                new Trial(0, T0, 10),
                new Trial(2, T0.plusMillis(1), 0),
                new Trial(0, T0.plusMillis(2), 20),
                new Trial(1, T0.plusMillis(2), 5),
                new Trial(1, T0.plusMillis(3), 0),
                new Trial(0, T0.plusMillis(4), 40),
                new Trial(1, T0.plusMillis(5), 10));
        List<Report.Row> rows = rows(tasks, trials);
        assertFalse(rows.get(2).counted());

        Plot.Series s = Plot.latencySeries(rows);
        assertEquals(2, s.counted());
        assertEquals(3, s.tasks());
        assertEquals(3, s.firstComplete());
        assertTrue(Double.isNaN(s.ms()[2]));
        // 2 x 2e9 flops at 20 GFLOP/s + 1e9 at 5 GFLOP/s: 200 + 200 ms; then 100 + 200, 100 + 100.
        assertEquals(400, s.ms()[3], 1e-9);
        assertEquals(400, s.ms()[4], 1e-9);
        assertEquals(300, s.ms()[5], 1e-9);
        assertEquals(200, s.ms()[6], 1e-9);
        assertEquals(Report.totals(rows).tunedSeconds() * 1e3, s.ms()[6]);
        assertEquals(600, s.defaultMs(), 1e-9);
        assertTrue(Report.table(rows).contains("counting only tasks with a measured default"));

        Path png = dir.resolve("small.png");
        Plot.write(rows, "three tasks", png);
        assertNotNull(ImageIO.read(png.toFile()));
        keep(png);
    }

    @Test
    void nothingMeasuredStillDrawsAnEmptyChart(@TempDir Path dir) throws Exception {
        List<Report.Row> rows = rows(List.of(task(0, 1, 1e9)), List.of());
        Plot.Series s = Plot.latencySeries(rows);
        assertEquals(0, s.trials());
        assertEquals(-1, s.firstComplete());
        Path png = dir.resolve("empty.png");
        Plot.write(rows, "nothing yet", png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img);
        assertEquals(Plot.WIDTH, img.getWidth());
        keep(png);
    }

    /** Report.rows hands Plot the records' timestamps, so trials of several tasks interleave as they were measured. */
    @Test
    void recordsOfATuningDatabaseAreOrderedByTheirTimestamps(@TempDir Path dir) {
        Target target = Target.parse("x86_64-avx2");
        List<TaskExtractor.Task> tasks = List.of(task(0, 1, 1e9), task(1, 2, 1e9));
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("t.db"))) {
            // Appended task by task (as an import might), measured interleaved.
            db.append(record(target, tasks.get(0), "", 10, T0, 0));
            db.append(record(target, tasks.get(0), "a=1", 20, T0.plusSeconds(2), 1));
            db.append(record(target, tasks.get(1), "", 4, T0.plusSeconds(1), 0));
            db.append(record(target, tasks.get(1), "a=1", 8, T0.plusSeconds(3), 1));
            List<Report.Row> rows = Report.rows(tasks, db, target);
            assertEquals(List.of(T0, T0.plusSeconds(2)), rows.get(0).measuredAt());
            assertEquals(List.of(0, 1, 0, 1), java.util.Arrays.stream(Plot.commitOrder(rows)).boxed().toList());
            Plot.Series s = Plot.latencySeries(rows);
            assertEquals(1, s.firstComplete());
            assertEquals(100 + 500, s.ms()[1], 1e-9);
            assertEquals(50 + 500, s.ms()[2], 1e-9);
            assertEquals(50 + 250, s.ms()[3], 1e-9);
        }
    }

    private static TuningRecord record(Target target, TaskExtractor.Task t, String config, double gflops, Instant at, long trial) {
        return new TuningRecord(target.name(), t.key(), t.workload().description(), config, "", List.of(t.flops() / (gflops * 1e9)),
                ErrorCode.NONE, null, t.flops(), at, "test", "test-device", "random", trial, "run-1");
    }

    /** With -Dkiln.plotTest.keep=DIR, a copy of each PNG goes to DIR to be looked at. */
    private static void keep(Path png) throws java.io.IOException {
        String keep = System.getProperty("kiln.plotTest.keep");
        if (keep == null) return;
        Files.createDirectories(Path.of(keep));
        Files.copy(png, Path.of(keep).resolve(png.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static int colors(BufferedImage img) {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 3)
            for (int x = 0; x < img.getWidth(); x += 3) seen.add(img.getRGB(x, y));
        return seen.size();
    }
}
