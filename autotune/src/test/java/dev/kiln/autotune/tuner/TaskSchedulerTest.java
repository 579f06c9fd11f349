package dev.kiln.autotune.tuner;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

class TaskSchedulerTest {
    /** Runs the scheduler to the end, each task's best latency after t trials given by {@code curves[i]}. */
    static TaskScheduler simulate(List<TaskScheduler.Task> tasks, int budget, int round, IntToDoubleFunction... curves) {
        TaskScheduler s = new TaskScheduler(tasks, budget, round);
        int given = 0;
        while (s.hasNext()) {
            TaskScheduler.Round r = s.next();
            assertTrue(r.trials() > 0 && r.trials() <= round);
            given += r.trials();
            s.update(r.task(), curves[r.task()].applyAsDouble(s.trials(r.task())));
        }
        assertEquals(budget, given, "the whole budget is handed out");
        return s;
    }

    /** Latency falling from l0 toward 40 % of it as trials accumulate. */
    static IntToDoubleFunction improving(double l0) {
        return t -> l0 * (0.4 + 0.6 * Math.exp(-t / 300.0));
    }

    @Test
    void heavyTaskGetsMoreTrialsAndEveryTaskItsFirstRound() {
        List<TaskScheduler.Task> tasks = List.of(
                new TaskScheduler.Task("tiny_add", 1, 1e-6, 1e3),
                new TaskScheduler.Task("conv", 12, 2e-3, 2e8),
                new TaskScheduler.Task("dense", 1, 5e-4, 5e7));
        TaskScheduler s = simulate(tasks, 1000, 50, improving(1e-6), improving(2e-3), improving(5e-4));
        for (int i = 0; i < 3; i++) assertTrue(s.trials(i) >= 50, tasks.get(i).name() + " got " + s.trials(i));
        assertTrue(s.trials(1) > s.trials(2), "conv (12 x 2 ms) vs dense (1 x 0.5 ms): " + s.allocation());
        assertTrue(s.trials(2) > s.trials(0), "dense vs a negligible add: " + s.allocation());
        assertEquals(50, s.trials(0), "the negligible task gets only its first round: " + s.allocation());
    }

    @Test
    void firstRoundsGoInOrderBeforeAnyTaskGetsASecond() {
        List<TaskScheduler.Task> tasks = List.of(new TaskScheduler.Task("a", 1, 1e-3, 1e6),
                new TaskScheduler.Task("b", 100, 1e-3, 1e6), new TaskScheduler.Task("c", 1, Double.NaN, 0));
        TaskScheduler s = new TaskScheduler(tasks, 10_000, 64);
        for (int i = 0; i < 3; i++) {
            TaskScheduler.Round r = s.next();
            assertEquals(i, r.task());
            assertEquals(64, r.trials());
            s.update(i, 1e-3);
        }
        assertEquals(1, s.next().task(), "b weighs 100x");
    }

    @Test
    void stalledTaskYieldsToOneStillImproving() {
        List<TaskScheduler.Task> tasks = List.of(new TaskScheduler.Task("stalled", 1, 1e-3, 0),
                new TaskScheduler.Task("improving", 1, 1e-3, 0));
        TaskScheduler s = simulate(tasks, 2000, 50, t -> t == 0 ? 1e-3 : 0.9e-3, improving(1e-3));
        assertTrue(s.trials(1) > s.trials(0), s.allocation().toString());
    }

    @Test
    void exhaustedTasksGetNoMoreRoundsAndBudgetCapsTheLastRound() {
        TaskScheduler s = new TaskScheduler(List.of(new TaskScheduler.Task("a", 1, 1e-3, 0),
                new TaskScheduler.Task("b", 1, 1e-3, 0)), 130, 64);
        s.next();
        s.exhausted(0);
        assertEquals(1, s.next().task());
        TaskScheduler.Round last = s.next();
        assertEquals(1, last.task());
        assertEquals(2, last.trials());
        assertFalse(s.hasNext());
        assertThrows(IllegalStateException.class, s::next);
    }
}
