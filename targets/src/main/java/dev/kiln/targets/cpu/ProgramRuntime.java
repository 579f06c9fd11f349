package dev.kiln.targets.cpu;

import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.DeviceRuntime;
import dev.kiln.targets.TargetException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs standalone Kiln programs as child processes: directly on this machine, or under
 * {@code qemu-aarch64 -cpu CPU} when the program is for aarch64 and this machine is not (Debian's
 * {@code qemu-user}; binfmt is not relied on). A static program runs under qemu as it is; a
 * dynamic one is given the target's sysroot with {@code -L}.
 */
public final class ProgramRuntime implements DeviceRuntime {
    private static final Pattern BENCH = Pattern.compile("bench: \\d+ runs, median ([0-9.]+) ms, min ([0-9.]+) ms");

    private final List<String> prefix;
    private final String description;
    private final boolean emulated;

    private ProgramRuntime(List<String> prefix, String description, boolean emulated) {
        this.prefix = List.copyOf(prefix);
        this.description = description;
        this.emulated = emulated;
    }

    /** Programs this machine runs natively. */
    public static ProgramRuntime host() {
        return new ProgramRuntime(List.of(), "this machine (" + CpuTarget.hostArch() + ")", false);
    }

    /** Programs for the aarch64 {@code target}, run under qemu-aarch64 with the target's CPU model. */
    public static ProgramRuntime qemu(CpuTarget target) {
        Path qemu = qemuPath().orElseThrow(() -> new TargetException("running " + target.name() + " code on this "
                + CpuTarget.hostArch() + " machine needs qemu-aarch64: install the Debian package qemu-user"));
        List<String> prefix = new ArrayList<>(List.of(qemu.toString(), "-cpu", qemuCpu(target.cpu())));
        Path sysroot = Path.of("/usr", target.multiarch());
        if (Files.isDirectory(sysroot)) prefix.addAll(List.of("-L", sysroot.toString()));
        return new ProgramRuntime(prefix, "qemu-aarch64 -cpu " + qemuCpu(target.cpu()) + " (emulated)", true);
    }

    /** qemu-aarch64 on PATH, if installed. */
    public static Optional<Path> qemuPath() {
        return onPath("qemu-aarch64");
    }

    /** An executable {@code program} in a directory of PATH, as a shell would find it. */
    public static Optional<Path> onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin").split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** qemu 7 knows cortex-a53/a72/a76, neoverse-n1; newer cores run as "max" (a superset of their features). */
    static String qemuCpu(String cpu) {
        return switch (cpu) {
            case "cortex-a53", "cortex-a72", "cortex-a76", "neoverse-n1" -> cpu;
            default -> "max";
        };
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public boolean emulated() {
        return emulated;
    }

    /** The command line that runs {@code program} with {@code args}. */
    public List<String> command(Path program, List<String> args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(program.toAbsolutePath().toString());
        cmd.addAll(args);
        return cmd;
    }

    @Override
    public Timing run(Path program, Map<String, Path> inputs, Path outputDir, int threads, int benchRuns, long timeoutSeconds) {
        List<String> args = new ArrayList<>();
        inputs.forEach((name, file) -> args.addAll(List.of("--input", name + "=" + file.toAbsolutePath())));
        if (outputDir != null) args.addAll(List.of("--output-dir", outputDir.toAbsolutePath().toString()));
        args.addAll(List.of("--threads", Integer.toString(threads)));
        if (benchRuns > 0) args.addAll(List.of("--bench", Integer.toString(benchRuns)));
        String out = exec(command(program, args), timeoutSeconds);
        if (benchRuns <= 0) return new Timing(Double.NaN, Double.NaN);
        Matcher m = BENCH.matcher(out);
        if (!m.find()) throw new TargetException(program + " printed no timing line:\n" + out);
        return new Timing(Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)));
    }

    /** Runs the command; its output, or a TargetException with the output and exit code. */
    private static String exec(List<String> cmd, long timeoutSeconds) {
        try {
            Path log = Files.createTempFile("kiln-run", ".log");
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                    throw new TargetException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s");
                }
                String out = Files.readString(log, StandardCharsets.UTF_8);
                if (p.exitValue() != 0) {
                    throw new TargetException("the program failed (exit " + p.exitValue() + "): " + out.strip());
                }
                return out;
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new TargetException("cannot run " + cmd.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TargetException("interrupted while running " + cmd.getFirst(), e);
        }
    }
}
