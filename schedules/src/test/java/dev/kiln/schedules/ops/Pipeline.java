package dev.kiln.schedules.ops;

import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.lower.LoweringPipeline;

/** The loop-IR lowering pipeline the tests run a kernel through before interpreting it. */
final class Pipeline {
    private Pipeline() {}

    static PrimFunc lower(PrimFunc f) {
        return LoweringPipeline.run(f, (step, g) -> {});
    }
}
