package dev.kiln.schedules.ops;

import dev.kiln.irlow.PrimFunc;

/** The loop-IR lowering pipeline the tests run a kernel through before interpreting it. */
final class Pipeline {
    private Pipeline() {}

    static PrimFunc lower(PrimFunc f) {
        return f; // LoweringPipeline.run(f, (step, g) -> {}) once ir-low has it
    }
}
