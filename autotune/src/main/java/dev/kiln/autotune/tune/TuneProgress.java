package dev.kiln.autotune.tune;

/**
 * What the tuning loop reports while it runs, for a person to watch: {@code kiln tune} prints it
 * on stderr, tests record it. Calls come from the loop's thread, in the order begin, update..., end.
 */
public interface TuneProgress {
    /** Starts (or returns to) task {@code index} of {@code count}. */
    void begin(int index, int count, TaskExtractor.Task task);

    /**
     * The task's trials so far, the model's trials done of planned, the task's best throughput
     * and the seconds left (NaN when not yet known).
     */
    void update(int taskTrials, int done, int planned, double bestGflops, double secondsLeft);

    /** Ends the task's line. */
    void end();

    /** A line of its own (a warning, a skipped task). */
    void note(String message);
}
