package dev.kiln.autotune.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.db.WorkloadRecords;
import dev.kiln.autotune.runner.Runner;
import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.schedules.space.Config;
import dev.kiln.targets.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loop's bookkeeping against a scripted runner: failed measurements become error records and
 * tuning goes on; the reference comes from the default config; records of a stale template are
 * ignored on resume; the trial budget is spent exactly.
 */
class TuneLoopTest {
    /** Answers OK with a fixed cost, except every third checked candidate, which "crashes". */
    static final class ScriptedRunner implements Runner {
        final List<MeasureRequest> requests = new ArrayList<>();

        @Override
        public DeviceInfo info() {
            return DeviceInfo.newBuilder().setDeviceKey("scripted/cpu").build();
        }

        @Override
        public MeasureResult measure(MeasureRequest request) {
            requests.add(request);
            MeasureResult.Builder r = MeasureResult.newBuilder().setCandidateId(request.getCandidateId());
            if (request.getReturnOutputs()) return r.setStatus(MeasureResult.Status.OK).addCosts(2e-3).addOutputs(ByteString.copyFromUtf8("ref")).build();
            if (requests.size() % 3 == 0) return r.setStatus(MeasureResult.Status.CRASH).setError("scripted crash").build();
            // Now and then timings that disagree (a relative standard error of 9 %): not to be trusted.
            if (requests.size() % 4 == 3) return r.setStatus(MeasureResult.Status.OK).addCosts(1e-3).addCosts(1.2e-3).build();
            return r.setStatus(MeasureResult.Status.OK).addCosts(1e-3).addCosts(1.01e-3).build();
        }

        @Override
        public void close() {}
    }

    /** The loop's progress as lines of text. */
    static final class RecordedProgress implements TuneProgress {
        final StringBuilder lines = new StringBuilder();

        @Override
        public void begin(int index, int count, TaskExtractor.Task task) {
            lines.append("begin ").append(task.key()).append('\n');
        }

        @Override
        public void update(int taskTrials, int done, int planned, double bestGflops, double secondsLeft) {
            lines.append("update ").append(done).append('/').append(planned).append('\n');
        }

        @Override
        public void end() {
            lines.append("end\n");
        }

        @Override
        public void note(String message) {
            lines.append("note ").append(message).append('\n');
        }
    }

    @Test
    void errorsAreRecordedAndTuningGoesOn(@TempDir Path dir) {
        Target target = Target.avx2();
        List<TaskExtractor.Task> tasks = Models.extract("zoo:mlp", target).tasks();
        ScriptedRunner runner = new ScriptedRunner();
        RecordedProgress progress = new RecordedProgress();
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("t.db"))) {
            // A record of an older template (unknown knob) must neither be fed to the tuner nor break the resume.
            db.append(TunedConfigsTest.record(tasks.get(0), target, "retired_knob=3", 5e-4, ErrorCode.NONE));
            TuneLoop loop = new TuneLoop(target, db, runner, new TuneLoop.Settings(10, "random", null, 7, 1),
                    progress);
            List<TuneLoop.TaskResult> results = loop.run(tasks);

            assertEquals(tasks.size(), results.size());
            long trials = 0;
            for (TaskExtractor.Task t : tasks) trials += db.count(target.name(), t.key());
            assertEquals(11, trials, "10 trials plus the stale record");
            int crashes = 0, remeasured = 0, confirmations = 0, confirmable = 0;
            for (TaskExtractor.Task t : tasks) {
                Set<String> configs = new HashSet<>(), untrusted = new HashSet<>();
                List<TuningRecord> rs = db.records(target.name(), t.key());
                double reference = 0;
                for (TuningRecord r : rs) {
                    if (r.config().equals("retired_knob=3")) continue;
                    assertEquals("threads=0,cache=warm", r.conditions());
                    if (r.tuner().equals(TuningRecord.CONFIRM)) {
                        confirmations++;
                        continue;
                    }
                    if (r.isReference()) {
                        // The default config, re-measured before a round: its own reference, and what the round's records carry.
                        assertEquals(t.space().defaults().toString(), r.config());
                        assertEquals(r.ok() ? r.meanCost() : 0, r.referenceCost(), "a failed reference is none");
                        reference = r.referenceCost();
                        continue;
                    }
                    if (r.ok() && !r.config().equals(t.space().defaults().toString()))
                        assertEquals(reference, r.referenceCost(), "a trial carries the reference measured before its round");
                    // A config is measured again only right after timings that disagreed.
                    if (!configs.add(r.config())) {
                        assertTrue(untrusted.contains(r.config()), "config measured twice: " + r.config());
                        remeasured++;
                    }
                    if (r.ok() && !WorkloadRecords.trusted(r)) untrusted.add(r.config());
                    assertEquals("scripted/cpu", r.deviceKey());
                    assertEquals(t.flops(), r.flops());
                    if (r.errorCode() == ErrorCode.CRASH) {
                        crashes++;
                        assertTrue(r.costsSeconds().isEmpty());
                        assertEquals("scripted crash", r.errorMessage());
                    } else {
                        assertEquals(ErrorCode.NONE, r.errorCode(), r.errorMessage());
                        assertFalse(r.trace().isBlank(), "a measured record carries its schedule trace");
                    }
                }
            }
            assertTrue(crashes > 0, "the scripted runner crashed some candidates");
            assertTrue(remeasured > 0, "candidates whose timings disagreed were measured again");
            // The best config of each task, where it is not the default, is timed again at the end (twice, not as trials).
            for (TaskExtractor.Task t : tasks) {
                var best = new WorkloadRecords(db.records(target.name(), t.key()), t.space().defaults().toString()).best();
                if (best.isPresent() && !best.get().config().equals(t.space().defaults().toString())) confirmable++;
            }
            assertTrue(confirmable > 0, "some task found a config faster than its default");
            assertTrue(confirmations >= TuneLoop.CONFIRMATIONS * confirmable - TuneLoop.CONFIRMATIONS,
                    confirmations + " confirmations for " + confirmable + " tasks");
            // Every checked request carries the default config's outputs as the reference.
            for (MeasureRequest q : runner.requests) {
                if (q.getReturnOutputs()) continue;
                assertEquals(List.of(ByteString.copyFromUtf8("ref")), q.getExpected().getOutputsList());
                assertEquals(1e-3, q.getExpected().getRtol());
            }
            // One per task, and one more: the fresh runner's first measurement, not kept.
            assertEquals(tasks.size() + 1, runner.requests.stream().filter(MeasureRequest::getReturnOutputs).count());
        }
        assertTrue(progress.lines.toString().contains("update 10/10"), progress.lines.toString());
    }

    /**
     * Measured on this machine, no candidate is being built while another is timed: every build
     * of a round finishes before the round's first measurement (a compile would take a core from
     * the kernel being timed).
     */
    @Test
    void noBuildRunsWhileACandidateIsTimed(@TempDir Path dir) {
        Target target = Target.avx2();
        List<TaskExtractor.Task> tasks = Models.extract("zoo:mlp", target).tasks();
        java.util.concurrent.atomic.AtomicInteger building = new java.util.concurrent.atomic.AtomicInteger();
        List<Integer> buildingWhenTimed = new java.util.concurrent.CopyOnWriteArrayList<>();
        CandidateBuilder.Factory counting = (task, t, d) -> {
            CandidateBuilder real = OneNodeBuilder.library(task, t, d);
            return new CandidateBuilder() {
                @Override
                public Candidate build(Config config) {
                    building.incrementAndGet();
                    try {
                        Thread.sleep(5); // long enough that an overlapping measurement would see it
                        return real.build(config);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        building.decrementAndGet();
                    }
                }

                @Override
                public double[] features(Config config) {
                    return real.features(config);
                }

                @Override
                public int inputs() {
                    return real.inputs();
                }
            };
        };
        ScriptedRunner scripted = new ScriptedRunner();
        Runner watching = new Runner() {
            @Override
            public DeviceInfo info() {
                return scripted.info();
            }

            @Override
            public MeasureResult measure(MeasureRequest request) {
                buildingWhenTimed.add(building.get());
                return scripted.measure(request);
            }

            @Override
            public void close() {}
        };
        try (TuningDatabase db = TuningDatabase.open("jdbc:sqlite:" + dir.resolve("t.db"))) {
            new TuneLoop(target, db, counting, CandidateRunner.libraries(watching), new TuneLoop.Settings(24, "random", null, 3, 1),
                    new RecordedProgress()).run(tasks);
        }
        assertTrue(buildingWhenTimed.size() >= 24, "measured " + buildingWhenTimed.size());
        assertTrue(buildingWhenTimed.stream().allMatch(n -> n == 0), "builds in flight at each measurement: " + buildingWhenTimed);
    }
}
