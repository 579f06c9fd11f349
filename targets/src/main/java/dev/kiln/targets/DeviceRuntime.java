package dev.kiln.targets;

import dev.kiln.targets.cpu.ProgramRuntime;
import java.nio.file.Path;
import java.util.Map;

/**
 * Runs and times a compiled model on a device: this machine, an emulator (qemu-user for
 * aarch64), and later a GPU through its driver or a board over RPC. {@code kiln run}, the tests
 * and the tuner's measurements go through this interface, so they work for every target whose
 * artifact a runtime can start. The artifact is a standalone program ({@code kiln compile --emit
 * exe}): it needs nothing of the JVM, so it runs under an emulator or on a board as it is.
 */
public interface DeviceRuntime {
    /** Where the code runs, for reports: "this machine (x86_64)", "qemu-aarch64 -cpu neoverse-n1 (emulated)". */
    String describe();

    /** Whether timings are emulated (they prove the plumbing, not the speed). */
    boolean emulated();

    /**
     * Runs {@code program} once on {@code inputs} (input name to .npy file; inputs not given are
     * random, from {@code seed}), writes every output as {@code outputDir/NAME.npy} (nullable: no
     * outputs written), then, when {@code benchRuns > 0}, times that many runs.
     */
    Timing run(Path program, Map<String, Path> inputs, Path outputDir, int threads, int benchRuns, long timeoutSeconds);

    /** Median and minimum of the timed runs, in milliseconds (NaN when none were timed). */
    record Timing(double medianMs, double minMs) {}

    /** The runtime that can run programs built for {@code target} here, or a {@link TargetException} saying what to install. */
    static DeviceRuntime forTarget(Target target) {
        return switch (target) {
            case CpuTarget cpu when cpu.canRunOnHost() -> ProgramRuntime.host();
            case CpuTarget cpu when cpu.arch().equals("aarch64") -> ProgramRuntime.qemu(cpu);
            case CpuTarget cpu -> throw new TargetException("programs for " + cpu.name() + " cannot run on this machine ("
                    + CpuTarget.hostArch() + (cpu.arch().equals(CpuTarget.hostArch()) ? ", without the CPU features " + cpu.features() : "")
                    + "); run them on a machine of that kind");
            // An OpenCL program is a host program that drives the device through the ICD loader.
            case GpuTarget gpu when gpu.canRunOnHost() -> ProgramRuntime.host();
            case GpuTarget gpu -> throw new TargetException("programs for " + gpu.name() + " cannot run on this machine: it has no such "
                    + "device (see 'kiln devices')");
        };
    }
}
