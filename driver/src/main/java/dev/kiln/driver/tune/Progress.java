package dev.kiln.driver.tune;

import dev.kiln.autotune.tune.Durations;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.autotune.tune.TuneProgress;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

/**
 * Live progress of a tune on stderr: one line per task, rewritten in place with {@code \r} on a
 * terminal; on a pipe or file, one plain line per update at the end of each round instead.
 */
public final class Progress implements TuneProgress {
    private final PrintWriter out;
    private final boolean terminal;
    private String header = "";
    private String last;
    private int width;

    public Progress(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** Progress on {@code err}, in place when a console is attached. */
    public static Progress to(PrintWriter err) {
        return new Progress(err, System.console() != null);
    }

    /** Starts (or returns to) task {@code index} of {@code count}. */
    @Override
    public void begin(int index, int count, TaskExtractor.Task task) {
        header = String.format(Locale.ROOT, "task %d/%d %s (x%d)", index + 1, count, task.key(), task.weight());
        last = null;
    }

    /**
     * The task's trials so far, the model's trials done of planned, the task's best throughput
     * and the seconds left (NaN when not yet known).
     */
    @Override
    public void update(int taskTrials, int done, int planned, double bestGflops, double secondsLeft) {
        String line = String.format(Locale.ROOT, "%s: %d trials (model %d/%d), best %.2f GFLOP/s%s", header, taskTrials, done,
                planned, bestGflops, Double.isFinite(secondsLeft)
                        ? ", about " + Durations.format(Duration.ofSeconds((long) Math.ceil(secondsLeft))) + " left" : "");
        if (terminal) {
            out.print("\r" + line + " ".repeat(Math.max(0, width - line.length())));
            width = line.length();
            out.flush();
        }
        last = line;
    }

    /** Ends the task's line (prints it once on a non-terminal). */
    @Override
    public void end() {
        if (last == null) return;
        if (terminal) out.println();
        else out.println(last);
        width = 0;
        last = null;
        out.flush();
    }

    /** A line of its own (a warning, a skipped task). */
    @Override
    public void note(String message) {
        if (terminal && last != null) {
            out.println();
            width = 0;
        }
        out.println("kiln: " + message);
        out.flush();
    }
}
