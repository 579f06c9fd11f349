package dev.kiln.autotune.tune;

import dev.kiln.schedules.space.Config;
import dev.kiln.targets.Target;
import java.nio.file.Path;

/**
 * Builds the candidates of one task, one config each, into whatever its runner measures: a
 * library loaded in a runner process, or a program run on the device or under an emulator.
 * Implementations are safe to call from several threads at once (the loop builds a round in parallel).
 */
public interface CandidateBuilder {
    /** The candidate of {@code config}, or a candidate that says why it could not be built; never throws for a bad config. */
    Candidate build(Config config);

    /** The cost model's input for a config. */
    double[] features(Config config);

    /** Number of inputs a candidate takes (the runner is given one seed per input). */
    int inputs();

    /** Makes the builder of one task; {@code dir} is where its temporary files go. */
    @FunctionalInterface
    interface Factory {
        CandidateBuilder create(TaskExtractor.Task task, Target target, Path dir);
    }
}
