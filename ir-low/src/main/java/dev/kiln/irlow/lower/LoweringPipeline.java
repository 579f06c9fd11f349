package dev.kiln.irlow.lower;

import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.transform.Simplify;
import dev.kiln.irlow.transform.VectorizeLoops;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * The lowering steps between a scheduled function and codegen, in order, Halide-style: read
 * this method to know what codegen receives. {@code dump} sees the function after each step
 * (for {@code --dump-ir}); pass {@code (n, f) -> {}} for none.
 */
public final class LoweringPipeline {
    private LoweringPipeline() {}

    public static PrimFunc run(PrimFunc f, BiConsumer<String, PrimFunc> dump) {
        PrimFunc s = f;
        s = step("simplify", Simplify::run, s, dump);           // fold split/fuse index math, drop guards that always hold
        s = step("vectorize", VectorizeLoops::run, s, dump);    // vectorized loops -> ramps, vector loads/stores
        s = step("simplify-vectors", Simplify::run, s, dump);   // fold what widening exposed
        return s;
    }

    private static PrimFunc step(String name, UnaryOperator<PrimFunc> pass, PrimFunc f, BiConsumer<String, PrimFunc> dump) {
        PrimFunc r = pass.apply(f);
        dump.accept(name, r);
        return r;
    }
}
