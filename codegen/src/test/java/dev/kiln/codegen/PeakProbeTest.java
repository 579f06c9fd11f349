package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.targets.CpuTarget;
import org.junit.jupiter.api.Test;

/** The FMA probe compiles for this machine's CPU, runs, and gives a peak a real core can have. */
class PeakProbeTest {
    @Test
    void measuresAPlausiblePeakForThisCore() {
        String ir = PeakProbe.ir(16);
        assertTrue(ir.contains("@llvm.fma.v16f32") && ir.split("call <16 x float> @llvm.fma", -1).length - 1 == PeakProbe.CHAINS, ir);
        double g = PeakProbe.measureGflops(CpuTarget.host());
        // One core: more than a scalar FMA at 1 GHz (2 GFLOP/s) can do, less than 2 x 512-bit FMA at 6 GHz (384).
        assertTrue(g > 2 && g < 400, "peak " + g + " GFLOP/s");
    }
}
