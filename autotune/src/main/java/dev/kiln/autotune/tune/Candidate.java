package dev.kiln.autotune.tune;

import dev.kiln.autotune.db.ErrorCode;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.schedules.space.Config;
import java.util.List;

/**
 * A built candidate: the artifact compiled with one config (a library or a program, as its builder
 * makes them) and the tensors it takes and gives, in order; or why there is none ({@code artifact}
 * and {@code signature} are null exactly when {@code error} is not NONE).
 */
public record Candidate(Config config, byte[] artifact, Signature signature, String trace, ErrorCode error, String message) {
    /** The candidate's inputs and outputs as its compiled module declares them: what a program runner names its .npy files after. */
    public record Signature(List<TensorSpec> inputs, List<TensorSpec> outputs) {}

    static Candidate failed(Config config, String trace, ErrorCode error, String message) {
        return new Candidate(config, null, null, trace, error, message);
    }

    public boolean ok() {
        return error == ErrorCode.NONE;
    }
}
