package dev.kiln.driver.tune;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The tuning curve of {@code kiln tune} as one PNG of two charts, drawn with JFreeChart, headless.
 *
 * <p><b>Top: the model's estimated end-to-end latency against the trial number.</b> The trials
 * of all tasks form one sequence (see {@link #commitOrder}); after global trial {@code i} the
 * estimate is the sum over the tasks of {@link Report#seconds weight * flops / (GFLOP/s * 1e9)} at
 * the best throughput the task has measured so far (its default config's, until a config beats
 * it). It covers the tasks that {@link Report#totals} counts (those with a measured default and a
 * best config), in the same order and with the same formula, so the last point is exactly the
 * "ms tuned" of {@link Report#table} and the dashed horizontal line at the "ms on default configs"
 * is its reference. <i>Partial part:</i> before every counted task has a successful measurement
 * there is no end-to-end figure (a sum that leaves tasks out is not a latency, and it would rise as
 * tasks joined), so the line starts at the first trial after which every counted task has one (in a
 * tune, once each task's default config is measured); the trials before it are shaded grey, and
 * the chart's subtitle says where the line starts and why. The curve is a step function of the
 * trial number; it rises only where a task's best config, timed again, turned out slower than its
 * first timing said (a config counts at the median of its timings).
 *
 * <p><b>Bottom: the tasks that weigh most.</b> A horizontal bar chart of the ten tasks with the
 * largest share of the tuned estimate, each with its time per inference (weight included) on the
 * default config and on the best one, labelled by a shortened task key, its weight and its share;
 * the subtitle sums up the tasks left out, so 35 tasks stay readable.
 *
 * <p>The file is written beside {@code png} first and then moved into place, so a reader never
 * sees half a PNG.
 */
public final class Plot {
    static {
        // Before any AWT class initializes: no display is needed or wanted, also where one exists.
        System.setProperty("java.awt.headless", "true");
    }

    private Plot() {}

    /** Size of the PNG: the latency chart on top of the bar chart. */
    static final int WIDTH = 1000, CURVE_HEIGHT = 500, BARS_HEIGHT = 500, HEIGHT = CURVE_HEIGHT + BARS_HEIGHT;
    /** How many tasks the bar chart shows. */
    static final int TOP_TASKS = 10;

    private static final Color TUNED = new Color(0x1f77b4), DEFAULT = new Color(0xff7f0e), PARTIAL = new Color(0xe4e4e4),
            MEASURED = new Color(0x2ca02c);
    private static final Color GRID = new Color(0xd0d0d0);

    /**
     * The estimated latency after each global trial. {@code ms[i]}: milliseconds per inference
     * after trial {@code i + 1}, NaN while some counted task has no successful measurement;
     * {@code firstComplete}: the index of the first number (-1 if none); {@code defaultMs} and
     * {@code tunedMs}: {@link Report#totals} in milliseconds; {@code counted} of {@code tasks}
     * tasks are in the sum.
     */
    record Series(double[] ms, int firstComplete, double defaultMs, double tunedMs, int counted, int tasks, double calibration,
                  double measuredTunedMs) {
        Series(double[] ms, int firstComplete, double defaultMs, double tunedMs, int counted, int tasks) {
            this(ms, firstComplete, defaultMs, tunedMs, counted, tasks, 1, Double.NaN);
        }

        int trials() {
            return ms.length;
        }

        boolean calibrated() {
            return !Double.isNaN(measuredTunedMs);
        }

        /** Every estimate times {@code factor}; {@code tunedMs} measured end to end beside it. */
        Series scaled(double factor, double measuredTunedMs) {
            double[] out = new double[ms.length];
            for (int i = 0; i < ms.length; i++) out[i] = ms[i] * factor;
            return new Series(out, firstComplete, defaultMs * factor, tunedMs * factor, counted, tasks, factor, measuredTunedMs);
        }
    }

    /**
     * The trials of all tasks in one sequence: element {@code i} is the index in {@code rows} of
     * the task whose record is global trial {@code i + 1}.
     *
     * <p>Why by timestamp: a {@code TuningRecord} carries no database id, and
     * {@code TuningDatabase.records} hands out one task's records at a time (in id order, which is
     * that task's commit order); its {@code trial} is a count within the task, not the run. What
     * orders records of different tasks is their {@code timestamp}: the tune loop stamps each
     * record with the clock just before committing it, from the one thread that measures one
     * candidate at a time, so within a tune timestamp order is commit order, and across resumed
     * runs the later run comes later. The per-task sequences are merged by timestamp and each task
     * keeps its own commit order (a stable k-way merge; equal times go in the order of
     * {@code rows}), so a task's prefix of the merge is exactly its {@link Report.Row#curve}.
     * Imported records ({@code kiln db import}) keep the time they were measured, so they appear
     * where they were measured, not where they were imported.
     */
    static int[] commitOrder(List<Report.Row> rows) {
        int n = 0;
        for (Report.Row r : rows) n += r.curve().size();
        int[] next = new int[rows.size()];
        Comparator<Integer> byTime = Comparator.comparing((Integer k) -> rows.get(k).measuredAt().get(next[k]))
                .thenComparing(k -> k);
        PriorityQueue<Integer> queue = new PriorityQueue<>(Math.max(1, rows.size()), byTime);
        for (int k = 0; k < rows.size(); k++) if (!rows.get(k).curve().isEmpty()) queue.add(k);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            int k = queue.remove();
            order[i] = k;
            if (++next[k] < rows.get(k).curve().size()) queue.add(k); // re-keyed on its next record's time
        }
        return order;
    }

    /** The estimated end-to-end latency after each global trial (see the class comment and {@link #commitOrder}). */
    static Series latencySeries(List<Report.Row> rows) {
        Report.Totals totals = Report.totals(rows);
        int[] order = commitOrder(rows);
        int[] pos = new int[rows.size()];
        double[] best = new double[rows.size()];
        int missing = totals.counted();
        double[] ms = new double[order.length];
        int first = -1;
        for (int i = 0; i < order.length; i++) {
            int k = order[i];
            Report.Row row = rows.get(k);
            double g = row.curve().get(pos[k]++);
            if (row.counted() && best[k] <= 0 && g > 0) missing--;
            best[k] = g; // the row's curve is the task's best so far (a median per config: it may rise when a config is timed again)
            if (missing > 0 || totals.counted() == 0) {
                ms[i] = Double.NaN;
                continue;
            }
            // The same terms in the same order as Report.totals, so the last point is its tuned total exactly.
            double seconds = 0;
            for (int j = 0; j < rows.size(); j++)
                if (rows.get(j).counted()) seconds += Report.seconds(rows.get(j).task(), best[j]);
            ms[i] = seconds * 1e3;
            if (first < 0) first = i;
        }
        return new Series(ms, first, totals.defaultSeconds() * 1e3, totals.tunedSeconds() * 1e3, totals.counted(),
                totals.tasks());
    }

    /** Writes the two charts of {@code rows} to {@code png} (beside it first, then moved into place). */
    public static void write(List<Report.Row> rows, String title, Path png) throws IOException {
        write(rows, title, png, null);
    }

    /**
     * As above; with {@code measured} (the libraries timed end to end after the tune), the curve is
     * calibrated: every estimate times {@code measured default / estimated default}, so that it
     * reads in milliseconds of the whole library (copies, the executor and the kernels' effects on
     * each other's caches included), and the tuned library's measured time is drawn beside its end.
     */
    public static void write(List<Report.Row> rows, String title, Path png, EndToEnd.Result measured) throws IOException {
        Series series = latencySeries(rows);
        if (measured != null && series.defaultMs() > 0) series = series.scaled(measured.defaultMs() / series.defaultMs(), measured.tunedMs());
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            curveChart(series, title).draw(g, new Rectangle2D.Double(0, 0, WIDTH, CURVE_HEIGHT));
            barChart(rows, series).draw(g, new Rectangle2D.Double(0, CURVE_HEIGHT, WIDTH, BARS_HEIGHT));
        } finally {
            g.dispose();
        }

        Path target = png.toAbsolutePath();
        Path dir = target.getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".part");
        try {
            if (!ImageIO.write(img, "png", tmp.toFile())) throw new IOException("no PNG writer in this Java runtime");
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static JFreeChart curveChart(Series s, String title) {
        XYSeries line = new XYSeries(s.calibrated() ? "estimate with the best configs measured so far, calibrated"
                : "estimate with the best configs measured so far", false, true);
        for (int i = Math.max(0, s.firstComplete()); i < s.trials(); i++)
            if (!Double.isNaN(s.ms()[i])) line.add(i + 1, s.ms()[i]);
        // The estimate after the last trial holds to the end of the axis, so the last step shows.
        if (s.firstComplete() >= 0) line.add(s.trials() + 0.5, s.ms()[s.trials() - 1]);
        XYSeriesCollection data = new XYSeriesCollection(line);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "trial (all tasks, in the order measured)",
                s.calibrated() ? "latency (ms per inference, end to end)" : "estimated latency (ms per inference)", data,
                PlotOrientation.VERTICAL, true, false, false);
        style(chart);
        chart.addSubtitle(new TextTitle(curveSubtitle(s), font(Font.PLAIN, 12)));

        XYPlot plot = chart.getXYPlot();
        XYStepRenderer renderer = new XYStepRenderer();
        renderer.setSeriesPaint(0, TUNED);
        renderer.setSeriesStroke(0, new BasicStroke(2.2f));
        plot.setRenderer(renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(GRID);
        plot.setRangeGridlinePaint(GRID);

        NumberAxis x = (NumberAxis) plot.getDomainAxis();
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        x.setRange(0.5, Math.max(1, s.trials()) + 0.5);
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        double top = s.defaultMs();
        for (double v : s.ms()) if (!Double.isNaN(v)) top = Math.max(top, v);
        if (s.calibrated()) top = Math.max(top, s.measuredTunedMs());
        y.setRange(0, top > 0 ? top * 1.12 : 1);
        y.setNumberFormatOverride(new DecimalFormat("0.###"));

        LegendItemCollection legend = new LegendItemCollection();
        legend.addAll(plot.getLegendItems());
        Stroke dashed = new BasicStroke(1.6f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {7f, 5f}, 0f);
        if (s.defaultMs() > 0) {
            plot.addRangeMarker(marker(s.defaultMs(), DEFAULT, dashed, "default configs", true), Layer.FOREGROUND);
            legend.add(new LegendItem(s.calibrated() ? "default configs, measured end to end" : "estimate on the default configs", null,
                    null, null, new Line2D.Double(-8, 0, 8, 0), dashed, DEFAULT));
        }
        if (s.calibrated()) {
            Stroke dotted = new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 10f, new float[] {1f, 5f}, 0f);
            plot.addRangeMarker(marker(s.measuredTunedMs(), MEASURED, dotted, "tuned library measured", false), Layer.FOREGROUND);
            legend.add(new LegendItem("tuned configs, measured end to end", null, null, null, new Line2D.Double(-8, 0, 8, 0),
                    dotted, MEASURED));
        }
        if (s.firstComplete() != 0 && s.trials() > 0) {
            double end = (s.firstComplete() < 0 ? s.trials() : s.firstComplete()) + 0.5;
            plot.addDomainMarker(new IntervalMarker(0.5, end, PARTIAL), Layer.BACKGROUND);
            legend.add(new LegendItem("not every task measured yet: no estimate", null, null, null,
                    new Rectangle2D.Double(-6, -6, 12, 12), PARTIAL, new BasicStroke(1f), Color.GRAY));
        }
        plot.setFixedLegendItems(legend);
        return chart;
    }

    /** A horizontal line at {@code ms} labelled "{@code what}: ms", the label above the line or below it. */
    private static ValueMarker marker(double ms, Color color, Stroke stroke, String what, boolean above) {
        ValueMarker m = new ValueMarker(ms, color, stroke);
        m.setLabel(String.format(Locale.ROOT, "%s: %.3f ms", what, ms));
        m.setLabelFont(font(Font.PLAIN, 12));
        m.setLabelPaint(color.darker());
        m.setLabelBackgroundColor(new Color(255, 255, 255, 0));
        m.setLabelAnchor(above ? RectangleAnchor.TOP_RIGHT : RectangleAnchor.BOTTOM_RIGHT);
        m.setLabelTextAnchor(above ? TextAnchor.BOTTOM_RIGHT : TextAnchor.TOP_RIGHT);
        m.setLabelOffset(new RectangleInsets(2, 4, 2, 6));
        return m;
    }

    private static String curveSubtitle(Series s) {
        if (s.counted() == 0)
            return "no estimate: no task has both a measured default config and a best config yet";
        String counted = s.counted() == s.tasks() ? s.tasks() + " tasks"
                : s.counted() + " of " + s.tasks() + " tasks (only those with a measured default)";
        if (s.calibrated())
            return String.format(Locale.ROOT,
                    "sum over %s of weight x flops / best GFLOP/s so far, times %.3f (the default library measured end to end / its "
                            + "kernels' estimate)\ncalibrated tuned %.3f ms, measured %.3f ms (%+.1f %%); the line starts at trial %d of %d",
                    counted, s.calibration(), s.tunedMs(), s.measuredTunedMs(), 100 * (s.tunedMs() / s.measuredTunedMs() - 1),
                    s.firstComplete() + 1, s.trials());
        return String.format(Locale.ROOT,
                "sum over %s of weight x flops / best GFLOP/s so far; default configs %.3f ms, tuned %.3f ms (%.2fx)\n"
                        + "the line starts at trial %d of %d, the first after which every task has a successful measurement"
                        + "%s",
                counted, s.defaultMs(), s.tunedMs(), s.defaultMs() / s.tunedMs(), s.firstComplete() + 1, s.trials(),
                s.firstComplete() > 0 ? " (grey before)" : "");
    }

    private static JFreeChart barChart(List<Report.Row> rows, Series s) {
        List<Report.Row> counted = new ArrayList<>(rows.stream().filter(Report.Row::counted).toList());
        counted.sort(Comparator.comparingDouble((Report.Row r) -> Report.seconds(r.task(), r.bestGflops())).reversed());
        List<Report.Row> top = counted.subList(0, Math.min(TOP_TASKS, counted.size()));
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        double tunedTotal = s.tunedMs();
        for (int i = 0; i < top.size(); i++) {
            Report.Row r = top.get(i);
            double tuned = Report.seconds(r.task(), r.bestGflops()) * 1e3;
            String label = String.format(Locale.ROOT, "%d. %s  x%d  %.1f%%", i + 1, shortKey(r.task().key()),
                    r.task().weight(), 100 * tuned / tunedTotal);
            data.addValue(Report.seconds(r.task(), r.defaultGflops()) * 1e3, "default config", label);
            data.addValue(tuned, "best config", label);
        }
        String title = counted.size() > top.size()
                ? "The " + top.size() + " of " + counted.size() + " tasks with the largest share of the tuned estimate"
                : "Tasks by share of the tuned estimate";
        JFreeChart chart = ChartFactory.createBarChart(title, null, "ms per inference (all kernels of the task: weight x one run)",
                data, PlotOrientation.HORIZONTAL, true, false, false);
        style(chart);
        chart.addSubtitle(new TextTitle(barSubtitle(counted, top, s), font(Font.PLAIN, 12)));

        CategoryPlot plot = chart.getCategoryPlot();
        plot.setRangeAxisLocation(AxisLocation.BOTTOM_OR_LEFT);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(GRID);
        plot.setNoDataMessage("no task has both a measured default config and a best config yet");
        plot.setNoDataMessageFont(font(Font.PLAIN, 14));
        CategoryAxis axis = plot.getDomainAxis();
        axis.setTickLabelFont(new Font(Font.MONOSPACED, Font.PLAIN, 12));
        axis.setMaximumCategoryLabelWidthRatio(0.45f);
        axis.setCategoryMargin(0.25);
        NumberAxis value = (NumberAxis) plot.getRangeAxis();
        value.setNumberFormatOverride(new DecimalFormat("0.###"));
        value.setUpperMargin(0.12);
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setItemMargin(0.05);
        renderer.setMaximumBarWidth(0.05);
        renderer.setSeriesPaint(0, DEFAULT);
        renderer.setSeriesPaint(1, TUNED);
        renderer.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("0.000")));
        renderer.setDefaultItemLabelFont(font(Font.PLAIN, 10));
        renderer.setDefaultItemLabelsVisible(true);
        return chart;
    }

    private static String barSubtitle(List<Report.Row> counted, List<Report.Row> top, Series s) {
        if (counted.isEmpty()) return "";
        double def = 0, tuned = 0;
        for (Report.Row r : top) {
            def += Report.seconds(r.task(), r.defaultGflops()) * 1e3;
            tuned += Report.seconds(r.task(), r.bestGflops()) * 1e3;
        }
        String shown = String.format(Locale.ROOT, "these %d: %.3f ms on default configs, %.3f ms tuned (%.1f%% of the tuned estimate)",
                top.size(), def, tuned, 100 * tuned / s.tunedMs());
        int rest = counted.size() - top.size();
        if (rest > 0)
            shown += String.format(Locale.ROOT, "; the other %d: %.3f ms, %.3f ms", rest, s.defaultMs() - def, s.tunedMs() - tuned);
        return shown + "\nlabels: task key (ops and hash, as in the table), x weight (kernels sharing it), share of the tuned estimate";
    }

    /**
     * A task key ({@code <ops>-<16 hex digits>}) short enough for an axis: the ops clipped to 26
     * characters and the first 6 hex digits, still enough to find the task in the table.
     */
    static String shortKey(String key) {
        int dash = key.lastIndexOf('-');
        String ops = dash > 0 ? key.substring(0, dash) : key;
        String hash = dash > 0 ? key.substring(dash + 1) : "";
        if (ops.length() > 26) ops = ops.substring(0, 24) + "..";
        return hash.isEmpty() ? ops : ops + "-" + hash.substring(0, Math.min(6, hash.length()));
    }

    private static void style(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.setAntiAlias(true);
        chart.setTextAntiAlias(true);
        chart.getTitle().setFont(font(Font.BOLD, 15));
        chart.setPadding(new RectangleInsets(6, 8, 6, 14));
        if (chart.getLegend() != null) {
            chart.getLegend().setItemFont(font(Font.PLAIN, 12));
            chart.getLegend().setFrame(BlockBorder.NONE);
        }
    }

    private static Font font(int style, int size) {
        return new Font(Font.SANS_SERIF, style, size);
    }
}
