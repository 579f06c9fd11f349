package dev.kiln.driver.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.runner.Runner;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.autotune.tune.TuneLoop;
import dev.kiln.autotune.tune.TunedConfigs;
import dev.kiln.irhigh.KilnException;
import dev.kiln.schedules.space.ConfigSource;
import dev.kiln.targets.Target;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@code kiln tune MODEL --compare random,ga,xgb,xgb+transfer --seeds 3}: the tuning benchmark.
 * Each tuner tunes the model from an empty database (its own file under the comparison's
 * directory, kept, so a second invocation re-times without re-tuning) with the same trial budget,
 * once per seed; {@code xgb+transfer} is {@code xgb} starting from a database that already holds
 * the records of an earlier tune of another model ({@code --transfer-db}, {@code --transfer-model}),
 * whose cost models learn from them. Then every tuned library, at 40 % of the trials (the
 * database as it stood then) and at 100 %, and the untuned one are compiled and timed end to end,
 * taking turns, by the same runner and threads. Out come the classic AutoTVM figure (the estimate
 * of each tuner against trials, the median over seeds) and a table in Markdown.
 */
public final class Compare {
    private Compare() {}

    /** The tuners a comparison may name. */
    static final List<String> TUNERS = List.of("random", "ga", "xgb", "xgb+transfer", "grid");
    /** The share of the trials the early libraries are compiled at. */
    static final double EARLY = 0.4;

    /** Where the other model's records come from for {@code xgb+transfer}. */
    record Transfer(String model, String dbUrl) {}

    /**
     * One tuning run: its tuner and seed, its database, its estimate after each trial (ms, NaN
     * before every task has one) and its estimate on default configs.
     */
    record Run(String tuner, int seed, Path db, double[] curve, double defaultMs) {}

    /**
     * Runs the comparison and writes {@code dir}/compare.png and compare.md; returns the table.
     * {@code settings} gives the trials, threads and cache; its tuner and seed are replaced run by run.
     */
    static String run(String model, Map<String, long[]> shapes, Map<String, List<String>> values, Target target, TaskExtractor.Extracted ex, List<String> tuners, int seeds,
                      TuneLoop.Settings settings, Transfer transfer, Path dir, Runner runner, PrintWriter err) {
        for (String t : tuners)
            if (!TUNERS.contains(t)) throw new KilnException("unknown tuner '" + t + "' in --compare: choose from " + String.join(", ", TUNERS));
        if (tuners.contains("xgb+transfer") && transfer == null)
            throw new KilnException("--compare xgb+transfer needs the earlier tune to transfer from: --transfer-db URL (a database "
                    + "holding a tune of another model) and --transfer-model MODEL (that model)");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new KilnException("cannot create " + dir + " for the comparison: " + e.getMessage(), e);
        }
        List<TaskExtractor.Task> transferTasks = transfer == null ? List.of()
                : TaskExtractor.fromModel(transfer.model(), Map.of(), target, dev.kiln.driver.GraphPipeline.passes(target)).tasks();
        List<Run> runs = new ArrayList<>();
        for (String tuner : tuners)
            for (int seed = 0; seed < seeds; seed++) {
                Path db = dir.resolve(tuner.replace('+', '-') + "-s" + seed + ".db");
                boolean transferring = tuner.equals("xgb+transfer");
                TuneLoop.Settings s = new TuneLoop.Settings(settings.trials(), transferring ? "xgb" : tuner, settings.budget(), seed,
                        settings.minRepeatMs(), settings.threads(), settings.cache());
                try (TuningDatabase d = TuningDatabase.open("jdbc:sqlite:" + db)) {
                    if (transferring && d.count() == 0) copyRecords(transfer.dbUrl(), d);
                    err.printf("compare: %s, seed %d, %d trials; records go to %s%n", tuner, seed, settings.trials(), db);
                    new TuneLoop(target, d, runner, s, Progress.to(err)).transferFrom(transferTasks).run(ex.tasks());
                    Plot.Series series = Plot.latencySeries(Report.rows(ex.tasks(), d, target));
                    runs.add(new Run(tuner, seed, db, series.ms(), series.defaultMs()));
                }
            }

        // Every library, compiled and timed end to end, taking turns.
        err.println("compare: compiling and timing the libraries end to end (" + (2 * runs.size() + 1) + " of them)");
        Path tmp = EndToEnd.tempDir("kiln-compare-");
        try {
            List<byte[]> libs = new ArrayList<>();
            libs.add(EndToEnd.compile(model, shapes, values, target, ConfigSource.DEFAULTS, tmp.resolve("default.so")));
            for (Run r : runs) {
                int trials = r.curve().length;
                try (TuningDatabase early = snapshot(r.db(), tmp.resolve(r.tuner().replace('+', '-') + r.seed() + "-early.db"),
                        (int) Math.ceil(EARLY * trials)); TuningDatabase full = TuningDatabase.open("jdbc:sqlite:" + r.db())) {
                    libs.add(EndToEnd.compile(model, shapes, values, target, new TunedConfigs(early), tmp.resolve("early.so")));
                    libs.add(EndToEnd.compile(model, shapes, values, target, new TunedConfigs(full), tmp.resolve("full.so")));
                }
            }
            double[] ms = EndToEnd.timeAlternating(runner, libs, settings.threads(), ex.graph().inputs().size());
            String table = table(model, target, settings, runs, ms, seeds);
            write(dir.resolve("compare.md"), table);
            figure(model, target, runs, ms, dir.resolve("compare.png"));
            return table;
        } finally {
            EndToEnd.deleteQuietly(tmp);
        }
    }

    /** A copy of the database at {@code file} holding only what it held when its {@code trials}-th trial was taken. */
    static TuningDatabase snapshot(Path file, Path copy, int trials) {
        TuningDatabase out = TuningDatabase.open("jdbc:sqlite:" + copy);
        try (TuningDatabase in = TuningDatabase.open("jdbc:sqlite:" + file)) {
            List<TuningRecord> all = in.all();
            List<Instant> trialTimes = all.stream().filter(TuningRecord::isTrial).map(TuningRecord::timestamp).sorted().toList();
            if (trialTimes.isEmpty()) return out;
            Instant until = trialTimes.get(Math.clamp(trials - 1, 0, trialTimes.size() - 1));
            out.appendAll(all.stream().filter(r -> !r.timestamp().isAfter(until)).toList());
            return out;
        }
    }

    private static void copyRecords(String url, TuningDatabase into) {
        try (TuningDatabase from = Databases.open(url)) {
            into.appendAll(from.all());
        }
    }

    private static String table(String model, Target target, TuneLoop.Settings settings, List<Run> runs, double[] ms, int seeds) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Tuning benchmark: %s on %s, %d trials per run, %s, %s caches; %d seed(s) per tuner.%n%n",
                model, target.name(), settings.trials(), EndToEnd.threads(settings.threads()),
                settings.cache().mode(), seeds));
        sb.append(String.format(Locale.ROOT, "Untuned library, end to end: %.3f ms.%n%n", ms[0]));
        sb.append("| tuner | seed | estimate on defaults (ms) | estimate at 40 % (ms) | estimate at 100 % (ms) | end to end at 40 % (ms) "
                + "| end to end at 100 % (ms) | speedup at 100 % |\n");
        sb.append("|---|---|---|---|---|---|---|---|\n");
        Map<String, List<double[]>> byTuner = new LinkedHashMap<>();
        for (int i = 0; i < runs.size(); i++) {
            Run r = runs.get(i);
            double early = ms[1 + 2 * i], full = ms[2 + 2 * i];
            int n = r.curve().length;
            double e40 = n == 0 ? Double.NaN : r.curve()[Math.clamp((int) Math.ceil(EARLY * n) - 1, 0, n - 1)];
            double e100 = n == 0 ? Double.NaN : r.curve()[n - 1];
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3fx |%n", r.tuner(), r.seed(), r.defaultMs(),
                    e40, e100, early, full, ms[0] / full));
            byTuner.computeIfAbsent(r.tuner(), k -> new ArrayList<>()).add(new double[] {early, full});
        }
        sb.append("\nMedians over seeds, end to end:\n\n| tuner | at 40 % of the trials (ms) | at 100 % (ms) |\n|---|---|---|\n");
        Map<String, double[]> medians = new LinkedHashMap<>();
        for (var e : byTuner.entrySet()) {
            double early = EndToEnd.median(e.getValue().stream().mapToDouble(v -> v[0]).toArray());
            double full = EndToEnd.median(e.getValue().stream().mapToDouble(v -> v[1]).toArray());
            medians.put(e.getKey(), new double[] {early, full});
            sb.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f |%n", e.getKey(), early, full));
        }
        if (medians.containsKey("xgb") && medians.containsKey("random")) {
            double xgb40 = medians.get("xgb")[0], random100 = medians.get("random")[1];
            sb.append(String.format(Locale.ROOT, "%nxgb with 40 %% of the trials: %.3f ms; random with all of them: %.3f ms: %s.%n", xgb40,
                    random100, xgb40 <= random100 ? "xgb reaches it" : String.format(Locale.ROOT, "xgb is %.1f %% slower", 100 * (xgb40 / random100 - 1))));
        }
        return sb.toString();
    }

    /**
     * The estimate of each tuner against the trial number (the median over its seeds), each run's
     * calibrated by the untuned library measured end to end over that run's estimate on default
     * configs: runs taken minutes apart on a shared machine start from estimates a few percent
     * apart, which says nothing about the tuners.
     */
    private static void figure(String model, Target target, List<Run> runs, double[] ms, Path png) {
        XYSeriesCollection data = new XYSeriesCollection();
        Map<String, List<double[]>> curves = new LinkedHashMap<>();
        for (Run r : runs) {
            double[] c = r.curve().clone();
            double factor = r.defaultMs() > 0 ? ms[0] / r.defaultMs() : Double.NaN;
            for (int i = 0; i < c.length; i++) c[i] *= factor;
            curves.computeIfAbsent(r.tuner(), k -> new ArrayList<>()).add(c);
        }
        for (var e : curves.entrySet()) {
            int n = e.getValue().stream().mapToInt(c -> c.length).min().orElse(0);
            XYSeries s = new XYSeries(e.getKey() + " (median of " + e.getValue().size() + ")", false, true);
            for (int i = 0; i < n; i++) {
                final int k = i;
                double[] at = e.getValue().stream().mapToDouble(c -> c[k]).filter(v -> !Double.isNaN(v)).toArray();
                if (at.length == e.getValue().size()) s.add(i + 1, EndToEnd.median(at));
            }
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart("Tuners compared: " + model + " on " + target.name(), "trials",
                "estimate, calibrated (ms per inference)", data, PlotOrientation.VERTICAL, true, false, false);
        StringBuilder sub = new StringBuilder(String.format(Locale.ROOT, "end to end: untuned %.3f ms", ms[0]));
        Map<String, List<Double>> full = new LinkedHashMap<>();
        for (int i = 0; i < runs.size(); i++) full.computeIfAbsent(runs.get(i).tuner(), k -> new ArrayList<>()).add(ms[2 + 2 * i]);
        for (var e : full.entrySet())
            sub.append(String.format(Locale.ROOT, "; %s %.3f ms", e.getKey(), EndToEnd.median(e.getValue().stream().mapToDouble(Double::doubleValue).toArray())));
        chart.addSubtitle(new TextTitle(sub + " (medians over seeds, tuned with all the trials)"));
        chart.addSubtitle(new TextTitle("each run's kernel estimate x (the untuned library end to end / that run's estimate on default configs)"));
        XYPlot plot = chart.getXYPlot();
        XYStepRenderer renderer = new XYStepRenderer();
        Color[] colors = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd)};
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, colors[i % colors.length]);
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        plot.setRenderer(renderer);
        plot.setBackgroundPaint(Color.WHITE);
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        chart.setBackgroundPaint(Color.WHITE);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try {
            ChartUtils.writeChartAsPNG(bytes, chart, 1000, 560);
        } catch (IOException e) {
            throw new KilnException("cannot draw " + png + ": " + e.getMessage(), e);
        }
        write(png, bytes.toByteArray());
    }

    private static void write(Path file, String text) {
        write(file, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Writes beside {@code file} first, then moves it into place: a reader never sees half of it. */
    private static void write(Path file, byte[] bytes) {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".part");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new KilnException("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // nothing half-written is left where a reader looks
            }
        }
    }
}
