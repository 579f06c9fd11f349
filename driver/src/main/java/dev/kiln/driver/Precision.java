package dev.kiln.driver;

import dev.kiln.irhigh.KilnException;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.Target;
import java.util.Locale;

/**
 * The arithmetic a float32 model is compiled with ({@code --precision}): {@code fp32} as the model
 * says, or {@code bf16}: the MatMuls and Gemms with constant weights ({@code MatMulsToBf16}) and the
 * dense convs over whole channel blocks ({@code ConvsToBf16}) on bfloat16 weights and activations,
 * summed in float32, on CPUs with the bf16 dot product.
 */
public enum Precision {
    FP32, BF16;

    /** {@code fp32} or {@code bf16} (any case); anything else is an error that lists them. */
    public static Precision parse(String s) {
        return switch (s == null ? "" : s.strip().toLowerCase(Locale.ROOT)) {
            case "fp32", "float32" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new KilnException("--precision '" + s + "': expected fp32 or bf16");
        };
    }

    /** Refuses a precision {@code target} cannot compute fast, with what the user can do. */
    public void check(Target target) {
        if (this != BF16) return;
        if (target instanceof CpuTarget cpu && OpInventory.bf16MatMul(cpu)) return;
        throw new KilnException("--precision bf16 needs a CPU with the bfloat16 dot product (AVX-512 BF16: 'avx512_bf16' in "
                + "/proc/cpuinfo, the vdpbf16ps instruction); target " + target.name() + " has none"
                + (target instanceof CpuTarget ? " (--target host has it on such a CPU; x86_64-avx512-vnni+bf16 names it for another machine)" : ", being no CPU")
                + ". Compile with --precision fp32 (the default), or quantize to int8 with 'kiln quantize'.");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
