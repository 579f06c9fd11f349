package dev.kiln.driver.tune;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** The tuning curve as a PNG: best GFLOP/s against trials, one line per task. Drawn with java.awt, headless. */
public final class Plot {
    private Plot() {}

    private static final int W = 960, H = 540, LEFT = 70, RIGHT = 330, TOP = 40, BOTTOM = 50;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf)};

    /** Writes the curves of {@code rows} to {@code png} (beside it first, then moved into place). */
    public static void write(List<Report.Row> rows, String title, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));

        int maxTrials = 1;
        double maxGflops = 0;
        for (Report.Row r : rows) {
            maxTrials = Math.max(maxTrials, r.curve().size());
            for (double v : r.curve()) maxGflops = Math.max(maxGflops, v);
        }
        if (maxGflops <= 0) maxGflops = 1;
        maxGflops *= 1.1;
        int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;

        g.setColor(Color.BLACK);
        g.drawString(title, LEFT, 18);
        g.drawRect(LEFT, TOP, pw, ph);
        for (int i = 0; i <= 5; i++) {
            int y = TOP + ph - ph * i / 5;
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(LEFT + 1, y, LEFT + pw - 1, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.1f", maxGflops * i / 5), 10, y + 4);
        }
        int step = Math.max(1, (maxTrials + 4) / 5);
        for (int v = 0; v <= maxTrials; v += step)
            g.drawString(Integer.toString(v), LEFT + (int) ((long) pw * v / maxTrials) - 5, TOP + ph + 18);
        g.drawString("trials", LEFT + pw / 2 - 15, H - 12);
        g.drawString("best GFLOP/s", 10, TOP - 6);

        g.setStroke(new BasicStroke(2f));
        for (int k = 0; k < rows.size(); k++) {
            Report.Row r = rows.get(k);
            g.setColor(COLORS[k % COLORS.length]);
            List<Double> c = r.curve();
            int px = -1, py = -1;
            for (int i = 0; i < c.size(); i++) {
                int x = LEFT + (int) Math.round((double) pw * (i + 1) / maxTrials);
                int y = TOP + ph - (int) Math.round(ph * c.get(i) / maxGflops);
                if (px >= 0) g.drawLine(px, py, x, y);
                else g.fillOval(x - 2, y - 2, 5, 5);
                px = x;
                py = y;
            }
            int ly = TOP + 10 + 18 * k;
            if (ly < H - 10) {
                g.fillRect(LEFT + pw + 15, ly - 8, 14, 4);
                g.setColor(Color.BLACK);
                String label = r.task().key();
                g.drawString(label.length() > 40 ? label.substring(0, 37) + "..." : label, LEFT + pw + 35, ly - 2);
            }
        }
        g.dispose();

        Path target = png.toAbsolutePath();
        if (target.getParent() != null) Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(target.getFileName() + ".part");
        try {
            if (!ImageIO.write(img, "png", tmp.toFile())) throw new IOException("no PNG writer in this Java runtime");
            Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
