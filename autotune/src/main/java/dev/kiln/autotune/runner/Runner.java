package dev.kiln.autotune.runner;

import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;

/**
 * Where the tuner measures candidates: a child process on this machine ({@link LocalRunner}) or a
 * runner already serving elsewhere ({@link RemoteRunner}). Failures of the candidate (crash, hang,
 * wrong answer, bad library) come back as a {@link MeasureResult} status; a {@link RunnerException}
 * means the runner itself cannot be reached or used.
 */
public interface Runner extends AutoCloseable {
    /** The machine measurements are taken on. */
    DeviceInfo info();

    /**
     * Whether measurements run on this machine's cores, so that anything else Kiln does (building
     * the next candidates) would compete with the kernel being timed. True unless the runner is
     * another machine.
     */
    default boolean sharesCores() {
        return true;
    }

    /** Measures one candidate; blocks until it is measured or its timeout (plus slack) has passed. */
    MeasureResult measure(MeasureRequest request);

    @Override
    void close();
}
