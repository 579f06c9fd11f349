package dev.kiln.autotune.tune;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.runner.Runner;
import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import java.time.Instant;

/**
 * Measures built candidates for the tuning loop. The request says how (inputs by seed, the
 * reference outputs and tolerances, repeats, timeout), the candidate what; a failure of the
 * candidate comes back as a result status, never as an exception. Two kinds: libraries measured
 * by a {@link Runner} (a runner process here, or a board over gRPC), and programs run by a
 * device runtime ({@link ProgramRunner}).
 */
public interface CandidateRunner extends AutoCloseable {
    /** The machine measurements are taken on; the tuning database keys records by its device key. */
    DeviceInfo info();

    MeasureResult measure(Candidate candidate, MeasureRequest request);

    /** A result with when it was taken and on which device: what completes a {@link RecordTemplate}. */
    record Measurement(MeasureResult result, Instant measuredAt, String deviceKey) {}

    /**
     * Measures a candidate whose record will be {@code template} completed with the result. A runner
     * that stores results itself (a fleet board writes the record with its job) completes it there;
     * the caller's own append of the same record is then a duplicate, and the record is stored once.
     */
    default Measurement measure(Candidate candidate, MeasureRequest request, RecordTemplate template) {
        MeasureResult r = measure(candidate, request);
        return new Measurement(r, Instant.now(), info().getDeviceKey());
    }

    /** How many candidates it measures at once (boards of a fleet); the tuning loop keeps that many in flight. */
    default int parallelism() {
        return 1;
    }

    /** Where the code runs, for the progress line: "a runner process on this machine", "qemu-aarch64 -cpu cortex-a72 (emulated)". */
    String describe();

    /** Whether timings are emulated: they prove the plumbing, not the speed of a real device. */
    boolean emulated();

    /** Whether measurements use this machine's cores ({@link Runner#sharesCores}); true unless overridden. */
    default boolean sharesCores() {
        return true;
    }

    @Override
    void close();

    /** Library candidates measured by {@code runner}: the candidate's bytes travel as the request's library. */
    static CandidateRunner libraries(Runner runner) {
        return new CandidateRunner() {
            @Override
            public DeviceInfo info() {
                return runner.info();
            }

            @Override
            public MeasureResult measure(Candidate candidate, MeasureRequest request) {
                return runner.measure(request.toBuilder().setLibrary(ByteString.copyFrom(candidate.artifact())).build());
            }

            @Override
            public String describe() {
                return "runner on " + runner.info().getDeviceKey();
            }

            @Override
            public boolean emulated() {
                return false;
            }

            @Override
            public boolean sharesCores() {
                return runner.sharesCores();
            }

            @Override
            public void close() {
                runner.close();
            }
        };
    }
}
