package dev.kiln.autotune.tune;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.runner.HostInfo;
import dev.kiln.autotune.runner.TensorBytes;
import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.Expected;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.MeasureResult.Status;
import dev.kiln.autotune.runner.proto.TensorData;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.frontend.Npy;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.targets.DeviceRuntime;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Measures program candidates ({@link OneNodeBuilder#program}) through a {@link DeviceRuntime}:
 * this machine, or qemu-aarch64 for an aarch64 target. Each measurement writes the program and
 * its inputs (the request's seeds drawn as {@link TensorBytes#random}, the same bytes a library
 * runner draws) as .npy files, runs the program once with {@code --bench}, reads its outputs back
 * and checks them against the reference as the library runner does. A crash, a timeout or a wrong
 * answer is a result status, so tuning goes on.
 */
public final class ProgramRunner implements CandidateRunner {
    /** Timed runs per measurement; their median is the cost. */
    static final int BENCH_RUNS = 10;
    /** The program prints milliseconds with three decimals: a median below that reads as zero. */
    private static final double RESOLUTION_MS = 1e-3;
    /** An emulator runs code this many times slower, or less, than the budget was set for. */
    private static final int EMULATION_SLOWDOWN = 20;
    private static final Pattern EXIT = Pattern.compile("\\(exit (\\d+)\\)");

    private final DeviceRuntime runtime;
    private final DeviceInfo info;

    public ProgramRunner(DeviceRuntime runtime, Target target) {
        this.runtime = runtime;
        DeviceInfo host = HostInfo.describe();
        this.info = !runtime.emulated() ? host : host.toBuilder()
                .setDeviceKey(host.getHostname() + "/" + runtime.describe())
                .setCpuModel(target.cpu() + " (" + runtime.describe() + ")")
                .setArch(target.triple().substring(0, target.triple().indexOf('-')))
                .setTriple(target.triple())
                .setTarget(target.name())
                .build();
    }

    @Override
    public DeviceInfo info() {
        return info;
    }

    @Override
    public String describe() {
        return runtime.describe();
    }

    @Override
    public boolean emulated() {
        return runtime.emulated();
    }

    @Override
    public MeasureResult measure(Candidate candidate, MeasureRequest request) {
        MeasureResult.Builder result = MeasureResult.newBuilder().setCandidateId(request.getCandidateId());
        Path dir;
        try {
            dir = Files.createTempDirectory("kiln-program-");
        } catch (IOException e) {
            throw new KilnException("cannot create a temporary directory for a candidate program: " + e.getMessage(), e);
        }
        try {
            return run(candidate, request, dir, result);
        } finally {
            deleteQuietly(dir);
        }
    }

    private MeasureResult run(Candidate candidate, MeasureRequest request, Path dir, MeasureResult.Builder result) {
        List<TensorSpec> ins = candidate.signature().inputs();
        List<TensorSpec> outs = candidate.signature().outputs();
        if (request.getInputsCount() != ins.size())
            return fail(result, Status.RUN_ERROR, "the candidate takes " + ins.size() + " inputs, the request gives " + request.getInputsCount());
        Path program = dir.resolve("candidate");
        Map<String, Path> inputs = new LinkedHashMap<>();
        try {
            Files.write(program, candidate.artifact());
            Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwx------"));
            for (int i = 0; i < ins.size(); i++) {
                Path f = dir.resolve("input" + i + ".npy");
                Npy.write(f, tensor(ins.get(i), inputBytes(request.getInputs(i), ins.get(i))));
                inputs.put(ins.get(i).name(), f);
            }
        } catch (IOException | RuntimeException e) {
            throw new KilnException("cannot write candidate " + request.getCandidateId() + " to " + dir + ": " + e.getMessage(), e);
        }
        Path outDir = dir.resolve("outputs");
        DeviceRuntime.Timing timing;
        try {
            timing = runtime.run(program, inputs, outDir, request.getThreads(), BENCH_RUNS, timeoutSeconds(request));
        } catch (TargetException e) {
            return fail(result, status(e.getMessage()), "candidate " + request.getCandidateId() + ": " + e.getMessage());
        }
        byte[][] actual = new byte[outs.size()][];
        for (int i = 0; i < outs.size(); i++) {
            Path f = outDir.resolve(Npy.fileName(outs.get(i).name()));
            try {
                actual[i] = Npy.read(f).toBytes();
            } catch (KilnException e) {
                return fail(result, Status.RUN_ERROR, "candidate " + request.getCandidateId() + " wrote no readable output "
                        + outs.get(i).name() + ": " + e.getMessage());
            }
            if (request.getReturnOutputs()) result.addOutputs(ByteString.copyFrom(actual[i]));
        }
        if (request.hasExpected()) {
            String wrong = check(request.getExpected(), outs, actual, result);
            if (wrong != null) return fail(result.clearOutputs(), Status.WRONG_ANSWER, "candidate " + request.getCandidateId() + ": " + wrong);
        }
        double ms = Math.max(timing.medianMs(), RESOLUTION_MS / 2);
        return result.setStatus(Status.OK).addCosts(ms / 1e3).setNumber(1).build();
    }

    /** Compares each output with the reference, element by element; the first mismatch as a sentence, or null. */
    private static String check(Expected expected, List<TensorSpec> outs, byte[][] actual, MeasureResult.Builder result) {
        if (expected.getOutputsCount() != outs.size())
            return "the candidate has " + outs.size() + " outputs, the request expects " + expected.getOutputsCount();
        double maxErr = 0;
        for (int i = 0; i < outs.size(); i++) {
            byte[] ref = expected.getOutputs(i).toByteArray();
            TensorSpec o = outs.get(i);
            if (ref.length != actual[i].length)
                return "output " + o.name() + " has " + actual[i].length + " bytes, the reference " + ref.length;
            TensorBytes.Comparison c = TensorBytes.compare(ModuleSpec.dtypeName(o.dtype()), actual[i], ref,
                    expected.getRtol(), expected.getAtol());
            maxErr = Math.max(maxErr, c.maxAbsError());
            if (!c.ok())
                return String.format(Locale.ROOT, "output %s: %d of %d elements differ beyond rtol %s, atol %s; first at flat index %d: "
                        + "got %s, expected %s", o.name(), c.mismatches(), o.numel(), expected.getRtol(), expected.getAtol(),
                        c.firstMismatch(), c.actual(), c.expected());
        }
        result.setMaxAbsError(maxErr);
        return null;
    }

    private static byte[] inputBytes(TensorData data, TensorSpec spec) {
        return switch (data.getDataCase()) {
            case RAW -> data.getRaw().toByteArray();
            case SEED -> TensorBytes.random(ModuleSpec.dtypeName(spec.dtype()), spec.numel(), data.getSeed());
            case DATA_NOT_SET -> throw new IllegalArgumentException("input " + spec.name() + " has neither raw bytes nor a seed");
        };
    }

    private static Tensor tensor(TensorSpec spec, byte[] bytes) {
        long[] dims = spec.shape().stream().mapToLong(Long::longValue).toArray();
        return Tensor.fromBytes(DType.fromNumpy(ModuleSpec.dtypeName(spec.dtype())), Shape.of(dims), bytes);
    }

    /**
     * What a failed run was, from the runtime's message: it says "did not finish" for a timeout and
     * "(exit N)" for an exit status, where N above 128 is a signal (a crash, also under qemu-user,
     * which dies of the guest's signal).
     */
    static Status status(String message) {
        if (message.contains("did not finish")) return Status.TIMEOUT;
        Matcher m = EXIT.matcher(message);
        if (m.find() && Integer.parseInt(m.group(1)) > 128) return Status.CRASH;
        return Status.RUN_ERROR;
    }

    private long timeoutSeconds(MeasureRequest request) {
        long ms = request.getTimeoutMs() > 0 ? request.getTimeoutMs() : 10_000;
        return Math.max(1, (ms + 999) / 1000) * (runtime.emulated() ? EMULATION_SLOWDOWN : 1);
    }

    private static MeasureResult fail(MeasureResult.Builder result, Status status, String message) {
        return result.clearCosts().setStatus(status).setError(message).build();
    }

    @Override
    public void close() {
        // every measurement cleans up after itself; nothing is held between them
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException | RuntimeException ignored) {
            // leftover temporary files are harmless
        }
    }
}
