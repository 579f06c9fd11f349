package dev.kiln.autotune.tuner;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a model's trial budget across its tuning tasks in rounds, Ansor's gradient task
 * scheduler: the end-to-end latency is {@code sum(weight_i * latency_i)}, and each round goes to
 * the task whose next trials are expected to lower it most. Every task first gets one round
 * (in the given order); after that task i's expected gain is {@code weight_i} times a mix of its
 * recent improvement per trial and an optimistic forward estimate ({@code latency_i / trials_i},
 * or the gap to the latency it would have at {@code BETA} times the best throughput any task
 * reached, whichever is larger). A task that has not improved for {@link #PATIENCE} rounds
 * expects no gain (Ansor's early stopping per task). Pure bookkeeping: the caller tunes and reports back.
 */
public final class TaskScheduler {
    /** A tuning task: {@code weight} = how many times the model runs its kernel; latency in seconds (NaN if unknown). */
    public record Task(String name, int weight, double latency, double flops) {}

    /** Tune task {@code task} (index into the tasks) for {@code trials} trials. */
    public record Round(int task, String name, int trials) {}

    /** Weight of the recent (backward) improvement against the forward estimate (Ansor's alpha). */
    static final double ALPHA = 0.2;
    /** How much faster than the fastest task's throughput a task may hope to become (Ansor's beta). */
    static final double BETA = 2;
    /** Rounds without improvement after which a task is stalled: no gain expected until the others stall too. */
    static final int PATIENCE = 3;

    private final List<Task> tasks;
    private final int roundTrials;
    private int remaining;
    private final int[] trials;
    private final boolean[] done;
    /** Per task, the reported (trials so far, best latency) points; the initial estimate counts as one at 0 trials. */
    private final List<List<double[]>> history = new ArrayList<>();

    public TaskScheduler(List<Task> tasks, int budget, int roundTrials) {
        if (roundTrials < 1) throw new IllegalArgumentException("trials per round must be at least 1, got " + roundTrials);
        this.tasks = List.copyOf(tasks);
        this.roundTrials = roundTrials;
        this.remaining = Math.max(0, budget);
        trials = new int[tasks.size()];
        done = new boolean[tasks.size()];
        for (Task t : tasks) {
            if (t.weight() < 0) throw new IllegalArgumentException("task " + t.name() + " has negative weight " + t.weight());
            List<double[]> h = new ArrayList<>();
            if (usable(t.latency())) h.add(new double[] {0, t.latency()});
            history.add(h);
        }
    }

    public boolean hasNext() {
        if (remaining <= 0) return false;
        for (boolean d : done) if (!d) return true;
        return false;
    }

    /** The next round; call only while {@link #hasNext()}. */
    public Round next() {
        if (!hasNext()) throw new IllegalStateException("no trials left to schedule (budget spent or every task exhausted)");
        int pick = -1;
        for (int i = 0; i < tasks.size() && pick < 0; i++) if (!done[i] && trials[i] == 0) pick = i;
        if (pick < 0) {
            double best = Double.POSITIVE_INFINITY;
            for (int i = 0; i < tasks.size(); i++) {
                if (done[i]) continue;
                double g = gradient(i);
                if (g < best) {
                    best = g;
                    pick = i;
                }
            }
        }
        int n = Math.min(roundTrials, remaining);
        remaining -= n;
        trials[pick] += n;
        return new Round(pick, tasks.get(pick).name(), n);
    }

    /** Reports task {@code task}'s best latency after its round (NaN when still none worked). */
    public void update(int task, double bestLatency) {
        double best = latency(task);
        if (usable(bestLatency) && !(bestLatency > best)) best = bestLatency;
        if (usable(best)) history.get(task).add(new double[] {trials[task], best});
    }

    /** Marks a task whose config space is used up: it gets no more rounds. */
    public void exhausted(int task) {
        done[task] = true;
    }

    public int trials(int task) {
        return trials[task];
    }

    /** Task {@code task}'s best latency reported so far (or its initial estimate; NaN when none). */
    public double latency(int task) {
        List<double[]> h = history.get(task);
        return h.isEmpty() ? Double.NaN : h.getLast()[1];
    }

    /** Expected change of the weighted latency per trial of task i (more negative = more to gain). */
    double gradient(int i) {
        List<double[]> h = history.get(i);
        if (h.isEmpty()) return 0; // nothing known to improve on
        double g = h.getLast()[1], t = Math.max(1, h.getLast()[0]);
        if (h.size() > PATIENCE && !(g < h.get(h.size() - 1 - PATIENCE)[1])) return 0;
        double backward = 0;
        if (h.size() >= 2) {
            double[] a = h.get(h.size() - 2), b = h.getLast();
            if (b[0] > a[0]) backward = (b[1] - a[1]) / (b[0] - a[0]);
        }
        double forward = -g / t;
        double fastest = 0;
        for (int k = 0; k < tasks.size(); k++) {
            double lk = latency(k);
            if (usable(lk) && tasks.get(k).flops() > 0) fastest = Math.max(fastest, tasks.get(k).flops() / lk);
        }
        if (fastest > 0 && tasks.get(i).flops() > 0) forward = Math.min(forward, BETA * tasks.get(i).flops() / fastest - g);
        return tasks.get(i).weight() * (ALPHA * backward + (1 - ALPHA) * forward);
    }

    private static boolean usable(double latency) {
        return Double.isFinite(latency) && latency > 0;
    }

    /** Trials given to each task so far, in task order. */
    public List<Integer> allocation() {
        List<Integer> out = new ArrayList<>();
        for (int t : trials) out.add(t);
        return out;
    }
}
