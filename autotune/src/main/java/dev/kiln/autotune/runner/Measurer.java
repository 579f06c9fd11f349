package dev.kiln.autotune.runner;

import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.MeasureResult.Status;
import dev.kiln.autotune.runner.proto.TensorData;
import dev.kiln.targets.cpu.NativeModel;
import dev.kiln.targets.cpu.NativeModel.TensorInfo;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Measures one candidate in this process: writes the library to a file in the session's directory,
 * loads it, runs it once and checks the outputs, then warms up and times it. A candidate that
 * crashes takes the process with it; that is why runners measure in a worker process of their own.
 *
 * <p>A library with a device clock (OpenCL, CUDA) is timed by it: the runner's process sets
 * {@code KILN_OPENCL_PROFILE=1} and {@code KILN_CUDA_PROFILE=1} before loading any candidate, so
 * each run's cost is its kernels' time from the device's profiling events (CUDA events), without the host's copies and launch overhead, which
 * are the same for every config of a kernel. A CPU library is timed by the wall clock.
 */
public final class Measurer {
    static final long DEFAULT_TIMEOUT_MS = 10_000;
    /** Growing {@code number} for {@code min_repeat_ms} stops here, so a no-op kernel cannot loop for ever. */
    private static final int MAX_NUMBER = 1 << 24;

    private Measurer() {}

    static {
        enableDeviceProfiling();
    }

    /**
     * {@code setenv("KILN_OPENCL_PROFILE", "1", 0)} and the same for {@code KILN_CUDA_PROFILE}: read
     * by an OpenCL or CUDA library when a handle is created (a value already set is kept). Done once
     * when this class loads; idempotent.
     */
    public static void enableDeviceProfiling() {
        var linker = java.lang.foreign.Linker.nativeLinker();
        var setenv = linker.defaultLookup().find("setenv");
        if (setenv.isEmpty()) return; // no C library setenv: OpenCL candidates are then timed by the wall clock
        var handle = linker.downcallHandle(setenv.get(), java.lang.foreign.FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            for (String api : new String[] {"OPENCL", "CUDA"}) {
                int rc = (int) handle.invokeExact(a.allocateFrom("KILN_" + api + "_PROFILE"), a.allocateFrom("1"), 0);
                if (rc != 0) System.err.println("kiln runner: cannot set KILN_" + api + "_PROFILE; " + api + " candidates are timed by the wall clock");
            }
        } catch (Throwable t) {
            throw new IllegalStateException("calling setenv failed", t);
        }
    }

    /**
     * Measures {@code request}, its library written to a private file in {@code dir} (and deleted
     * afterwards); every failure of the candidate comes back as a status, never as an exception.
     */
    public static MeasureResult measure(MeasureRequest request, Path dir) {
        long deadline = System.nanoTime() + timeoutMs(request) * 1_000_000L;
        MeasureResult.Builder result = MeasureResult.newBuilder().setCandidateId(request.getCandidateId());
        Path so;
        try {
            so = Files.createTempFile(dir, "candidate-", ".so"); // mode 600
            Files.write(so, request.getLibrary().toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the candidate library to " + dir, e);
        }
        try {
            NativeModel model;
            try {
                model = NativeModel.load(so);
            } catch (RuntimeException e) {
                return fail(result, Status.LOAD_ERROR, "candidate " + request.getCandidateId() + ": " + e.getMessage());
            }
            try (model; Arena arena = Arena.ofConfined()) {
                return run(request, model, arena, deadline, result);
            } catch (RuntimeException e) {
                return fail(result, Status.RUN_ERROR, "candidate " + request.getCandidateId() + ": " + e.getMessage());
            }
        } finally {
            try {
                Files.deleteIfExists(so);
            } catch (IOException e) {
                // A leftover temporary file is harmless; the measurement itself is done.
            }
        }
    }

    private static MeasureResult run(MeasureRequest request, NativeModel model, Arena arena, long deadline,
            MeasureResult.Builder result) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            return fail(result, Status.RUN_ERROR, "this runner's machine is big-endian; the protocol carries little-endian tensors");
        }
        List<TensorInfo> ins = model.inputs();
        List<TensorInfo> outs = model.outputs();
        if (request.getInputsCount() != ins.size()) {
            return fail(result, Status.RUN_ERROR, "the candidate takes " + ins.size() + " inputs " + ins
                    + ", the request gives " + request.getInputsCount());
        }
        MemorySegment[] in = new MemorySegment[ins.size()];
        for (int i = 0; i < in.length; i++) {
            byte[] bytes = inputBytes(request.getInputs(i), ins.get(i));
            if (bytes.length != ins.get(i).bytes()) {
                return fail(result, Status.RUN_ERROR, "input " + i + " (" + ins.get(i) + ") needs " + ins.get(i).bytes()
                        + " bytes, the request gives " + bytes.length);
            }
            in[i] = arena.allocate(Math.max(1, bytes.length), 64);
            MemorySegment.copy(bytes, 0, in[i], ValueLayout.JAVA_BYTE, 0, bytes.length);
        }
        MemorySegment[] out = new MemorySegment[outs.size()];
        for (int i = 0; i < out.length; i++) {
            if (outs.get(i).bytes() < 0) return fail(result, Status.RUN_ERROR, "output " + outs.get(i) + " has an unknown dtype");
            out[i] = arena.allocate(Math.max(1, outs.get(i).bytes()), 64);
            out[i].fill((byte) 0xFF); // NaN for floats: a kernel that skips elements cannot pass by luck
        }

        Eviction evict = request.getEvictBytes() > 0 && !model.hasDeviceClock()
                ? new Eviction(arena.allocate(Math.min(request.getEvictBytes(), MAX_EVICT_BYTES), 64),
                        request.getWarmInputs() ? both(in, out) : new MemorySegment[0])
                : null;
        try (NativeModel.Session session = model.createSession(request.getThreads())) {
            session.run(in, out);
            byte[][] first = new byte[out.length][];
            for (int i = 0; i < out.length; i++) first[i] = out[i].asSlice(0, outs.get(i).bytes()).toArray(ValueLayout.JAVA_BYTE);
            if (request.getReturnOutputs()) {
                for (byte[] o : first) result.addOutputs(ByteString.copyFrom(o));
            }
            if (request.hasExpected()) {
                String wrong = check(request, outs, first, result);
                if (wrong != null) return fail(result, Status.WRONG_ANSWER, wrong);
            }

            for (int i = 0; i < request.getWarmup(); i++) {
                if (System.nanoTime() > deadline) return timeout(request, result, "warming up");
                session.run(in, out);
            }
            int number = Math.max(1, request.getNumber());
            double minRepeatNs = request.getMinRepeatMs() * 1e6;
            long[] timed = timeRuns(session, in, out, number, evict);
            while (timed[1] < minRepeatNs && number < MAX_NUMBER) {
                if (System.nanoTime() > deadline) return timeout(request, result, "growing number for min_repeat_ms");
                // Aim a little past the minimum so one more round usually suffices.
                double grow = timed[1] <= 0 ? 10 : minRepeatNs * 1.2 / timed[1];
                number = (int) Math.min(MAX_NUMBER, Math.max(number * 2L, (long) Math.ceil(number * grow)));
                timed = timeRuns(session, in, out, number, evict);
            }
            long elapsed = timed[0];
            result.setNumber(number);
            int repeat = Math.max(1, request.getRepeat()), most = Math.max(repeat, request.getMaxRepeat());
            for (int r = 0; r < most; r++) {
                if (r > 0) elapsed = timeRuns(session, in, out, number, evict)[0];
                result.addCosts(elapsed / 1e9 / number);
                boolean late = System.nanoTime() > deadline;
                if (r + 1 < repeat) {
                    if (late) return timeout(request, result, "timing");
                    continue;
                }
                // The minimum is taken: stop once the spread settles, or when time is up (the spread
                // stays what it is, recorded with the costs). An older client's target of 0 stops at repeat.
                if (late || TuningRecord.relativeStandardError(result.getCostsList()) <= request.getTargetRse()) break;
            }
        }
        return result.setStatus(Status.OK).build();
    }

    /**
     * {@code number} runs: {@code {timed ns, wall ns}}. The timed part is the device's kernel time
     * where the library has a device clock, else the wall clock of the runs alone; the wall part
     * also counts the evictions before each run (with {@code evict}), and is what {@code number}
     * grows by, so that evicting does not multiply a measurement's duration.
     */
    private static long[] timeRuns(NativeModel.Session session, MemorySegment[] in, MemorySegment[] out, int number, Eviction evict) {
        long t0 = System.nanoTime();
        if (evict != null) {
            long runs = 0;
            for (int i = 0; i < number; i++) {
                evict.run();
                long r0 = System.nanoTime();
                session.run(in, out);
                runs += System.nanoTime() - r0;
            }
            return new long[] {Math.max(1, runs), System.nanoTime() - t0};
        }
        double deviceMs = 0;
        boolean device = true;
        for (int i = 0; i < number; i++) {
            session.run(in, out);
            var ms = session.deviceMillis();
            if (ms.isPresent()) deviceMs += ms.getAsDouble();
            else device = false;
        }
        long wall = System.nanoTime() - t0;
        return new long[] {device ? Math.max(1, Math.round(deviceMs * 1e6)) : wall, wall};
    }

    private static MemorySegment[] both(MemorySegment[] a, MemorySegment[] b) {
        MemorySegment[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** The most a request may have evicted before each run: more than any cache, less than a runner's memory. */
    static final long MAX_EVICT_BYTES = 256L << 20;

    /**
     * What runs before each timed run with {@code evict_bytes}: a read of {@code buffer}, which
     * takes the caches from whatever the candidate left there (as the weights of the library's other
     * kernels do; read, so evicting it later costs no write-back), then a read of {@code warm} (the
     * inputs and outputs).
     */
    private static final class Eviction {
        private final MemorySegment buffer;
        private final MemorySegment[] warm;
        @SuppressWarnings("unused")
        private static volatile long sink;

        Eviction(MemorySegment buffer, MemorySegment[] warm) {
            this.buffer = buffer;
            this.warm = warm;
            buffer.fill((byte) 1); // backed by pages of its own (an untouched page reads as the shared zero page)
        }

        void run() {
            long sum = touch(buffer);
            for (MemorySegment w : warm) sum += touch(w);
            sink = sum;
        }

        /** One load per cache line of {@code s}. */
        private static long touch(MemorySegment s) {
            long sum = 0;
            for (long o = 0; o + 8 <= s.byteSize(); o += 64) sum += s.get(ValueLayout.JAVA_LONG_UNALIGNED, o);
            return sum;
        }
    }

    /** A message naming the first wrong output, or null when all match; sets max_abs_error. */
    private static String check(MeasureRequest request, List<TensorInfo> outs, byte[][] actual, MeasureResult.Builder result) {
        var expected = request.getExpected();
        if (expected.getOutputsCount() != outs.size()) {
            return "the candidate has " + outs.size() + " outputs, the request expects " + expected.getOutputsCount();
        }
        double maxErr = 0;
        String wrong = null;
        for (int i = 0; i < outs.size(); i++) {
            TensorInfo info = outs.get(i);
            byte[] ref = expected.getOutputs(i).toByteArray();
            if (ref.length != actual[i].length) {
                return "output " + i + " (" + info + ") has " + actual[i].length + " bytes, the expected one " + ref.length;
            }
            TensorBytes.Comparison c = TensorBytes.compare(info.dtype(), actual[i], ref, expected.getRtol(), expected.getAtol());
            maxErr = Math.max(maxErr, c.maxAbsError());
            if (!c.ok() && wrong == null) {
                wrong = String.format(Locale.ROOT, "output %d (%s): %d of %d elements differ beyond rtol %s, atol %s; "
                        + "first at flat index %d: got %s, expected %s", i, info, c.mismatches(), info.numel(),
                        expected.getRtol(), expected.getAtol(), c.firstMismatch(), c.actual(), c.expected());
            }
        }
        result.setMaxAbsError(maxErr);
        return wrong;
    }

    private static byte[] inputBytes(TensorData data, TensorInfo info) {
        return switch (data.getDataCase()) {
            case RAW -> data.getRaw().toByteArray();
            case SEED -> TensorBytes.random(info.dtype(), info.numel(), data.getSeed());
            case DATA_NOT_SET -> throw new IllegalArgumentException("input " + info + " has neither raw bytes nor a seed");
        };
    }

    static long timeoutMs(MeasureRequest request) {
        return request.getTimeoutMs() > 0 ? request.getTimeoutMs() : DEFAULT_TIMEOUT_MS;
    }

    private static MeasureResult timeout(MeasureRequest request, MeasureResult.Builder result, String phase) {
        result.clearCosts();
        return fail(result, Status.TIMEOUT, "candidate " + request.getCandidateId() + " ran past its budget of "
                + timeoutMs(request) + " ms while " + phase);
    }

    private static MeasureResult fail(MeasureResult.Builder result, Status status, String message) {
        return result.setStatus(status).setError(message).build();
    }
}
