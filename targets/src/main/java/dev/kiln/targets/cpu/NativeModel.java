package dev.kiln.targets.cpu;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.kiln.targets.TargetException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A compiled Kiln model library loaded in-process through the Foreign Function &amp; Memory API.
 *
 * <p>The library's C ABI is five functions ({@code kiln_model_metadata}, {@code _create},
 * {@code _run}, {@code _destroy}, {@code _last_error}), and the profiling pair
 * ({@code _profile_info}, {@code _run_profiled}) that libraries built by older Kilns lack. A {@link Session} wraps one native
 * handle; one handle must be used by one thread at a time, separate sessions may run
 * concurrently. Closing the model destroys its remaining sessions and unloads the library.
 */
public final class NativeModel implements AutoCloseable {
    static final String[] SYMBOLS = {"kiln_model_metadata", "kiln_model_create", "kiln_model_run",
        "kiln_model_destroy", "kiln_model_last_error"};

    private final Path path;
    private final Arena arena;
    private final MethodHandle metadata;
    private final MethodHandle create;
    private final MethodHandle run;
    private final MethodHandle destroy;
    private final MethodHandle lastError;
    private final MethodHandle deviceMs; // null: the library has no device clock (CPU targets)
    private final MethodHandle runProfiled; // null: a library from before profiling
    private final String profileInfoJson; // null: likewise
    private final String metadataJson;
    private final Metadata parsed;
    private final java.util.Set<Session> openSessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private boolean closed;

    private NativeModel(Path path, Arena arena, SymbolLookup lookup) {
        this.path = path;
        this.arena = arena;
        Linker linker = Linker.nativeLinker();
        metadata = linker.downcallHandle(lookup.findOrThrow("kiln_model_metadata"),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        create = linker.downcallHandle(lookup.findOrThrow("kiln_model_create"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        run = linker.downcallHandle(lookup.findOrThrow("kiln_model_run"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        destroy = linker.downcallHandle(lookup.findOrThrow("kiln_model_destroy"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        lastError = linker.downcallHandle(lookup.findOrThrow("kiln_model_last_error"),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        deviceMs = lookup.find("kiln_model_device_ms").map(a -> linker.downcallHandle(a,
                FunctionDescriptor.of(ValueLayout.JAVA_DOUBLE, ValueLayout.ADDRESS))).orElse(null);
        runProfiled = lookup.find("kiln_model_run_profiled").map(a -> linker.downcallHandle(a,
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS))).orElse(null);
        profileInfoJson = lookup.find("kiln_model_profile_info").map(a -> cString((MemorySegment) invoke(linker.downcallHandle(a,
                FunctionDescriptor.of(ValueLayout.ADDRESS))))).orElse(null);
        metadataJson = cString((MemorySegment) invoke(metadata));
        try {
            parsed = parseMetadata(metadataJson);
        } catch (TargetException e) {
            throw new TargetException(path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads the Kiln model library at {@code so}. Fails with a clear message if the file is
     * missing, cannot be loaded, or is not a Kiln library (lacks the {@code kiln_model_*} symbols).
     */
    public static NativeModel load(Path so) {
        Path abs = so.toAbsolutePath().normalize();
        if (!Files.isRegularFile(abs)) throw new TargetException("model library not found: " + abs);
        if (!isElf(abs)) throw new TargetException("cannot load " + abs + ": not a shared library (no ELF header)");
        String arch = elfArch(abs);
        if (arch != null && !arch.equals(dev.kiln.targets.CpuTarget.hostArch())) {
            throw new TargetException(abs + " is an " + arch + " library and this machine is " + dev.kiln.targets.CpuTarget.hostArch()
                    + ": run it on an " + arch + " machine, or compile the model with --emit exe --static and run the program"
                    + (arch.equals("aarch64") ? " under qemu-aarch64 (Debian package qemu-user)" : " there"));
        }
        Arena arena = Arena.ofShared();
        try {
            SymbolLookup lookup;
            try {
                lookup = SymbolLookup.libraryLookup(abs, arena);
            } catch (IllegalArgumentException e) {
                throw new TargetException("cannot load " + abs + " as a shared library (" + e.getMessage()
                        + "); is it built for this machine?", e);
            }
            List<String> missing = Arrays.stream(SYMBOLS).filter(s -> lookup.find(s).isEmpty()).toList();
            if (!missing.isEmpty()) {
                throw new TargetException(abs + " is not a Kiln model library: it lacks " + String.join(", ", missing)
                        + "; compile the model with 'kiln compile'");
            }
            return new NativeModel(abs, arena, lookup);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** The JSON the library returns from {@code kiln_model_metadata()}. */
    public String metadataJson() {
        return metadataJson;
    }

    public String name() {
        return parsed.name();
    }

    /** Whether the library runs its kernels on a device (OpenCL, CUDA): it has {@code kiln_model_device_ms}. */
    public boolean hasDeviceClock() {
        return deviceMs != null;
    }

    /**
     * What {@code kiln_model_profile_info()} returns (a JSON array, one object per kernel call of
     * a run); empty for a library built before Kiln could profile.
     */
    public java.util.Optional<String> profileInfoJson() {
        return runProfiled == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(profileInfoJson);
    }

    public List<TensorInfo> inputs() {
        return parsed.inputs();
    }

    public List<TensorInfo> outputs() {
        return parsed.outputs();
    }

    /**
     * Creates a native handle with its own workspace; {@code numThreads} 0 means one per online
     * CPU. Each session must be used by one thread at a time.
     */
    public synchronized Session createSession(int numThreads) {
        if (closed) throw new IllegalStateException("model " + path + " is closed");
        MemorySegment handle = (MemorySegment) invoke(create, numThreads);
        if (handle.equals(MemorySegment.NULL)) {
            throw new TargetException("kiln_model_create(" + numThreads + ") failed for " + path + ": " + lastError());
        }
        return new Session(handle);
    }

    /** The calling thread's last error message from the library, "" if none. */
    String lastError() {
        return cString((MemorySegment) invoke(lastError));
    }

    /** Destroys the sessions still open, then unloads the library; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Session s : List.copyOf(openSessions)) s.close();
        arena.close();
    }

    /** One native model handle: a workspace and a thread count. Not thread-safe by design. */
    public final class Session implements AutoCloseable {
        private MemorySegment handle;
        private final Arena argArena = Arena.ofShared();
        private final MemorySegment inputPtrs;
        private final MemorySegment outputPtrs;

        private Session(MemorySegment handle) {
            this.handle = handle;
            openSessions.add(this);
            inputPtrs = argArena.allocate(ValueLayout.ADDRESS, Math.max(1, inputs().size()));
            outputPtrs = argArena.allocate(ValueLayout.ADDRESS, Math.max(1, outputs().size()));
        }

        /**
         * Runs the model once. Buffers are dense row-major native segments of at least the byte
         * size the metadata gives, in the order of {@link #inputs()} and {@link #outputs()}.
         */
        public void run(MemorySegment[] in, MemorySegment[] out) {
            if (handle == null) throw new IllegalStateException("session is closed");
            fill(inputPtrs, in, inputs(), "input");
            fill(outputPtrs, out, outputs(), "output");
            int rc;
            try {
                rc = (int) run.invokeExact(handle, inputPtrs, outputPtrs);
            } catch (Throwable t) {
                throw new IllegalStateException("calling kiln_model_run failed", t);
            }
            if (rc != 0) throw new TargetException("kiln_model_run failed (" + rc + ") for " + path + ": " + lastError());
        }

        /**
         * Runs the model once through {@code kiln_model_run_profiled}; returns {@code times}, call
         * i's start and end in {@code [2i]} and {@code [2i+1]} (CLOCK_MONOTONIC nanoseconds).
         * {@code calls} is the length of {@link #profileInfoJson()}'s array.
         */
        public long[] runProfiled(MemorySegment[] in, MemorySegment[] out, int calls) {
            if (handle == null) throw new IllegalStateException("session is closed");
            if (runProfiled == null) {
                throw new TargetException(path + " was built by a Kiln without profiling (no kiln_model_run_profiled); compile it again");
            }
            fill(inputPtrs, in, inputs(), "input");
            fill(outputPtrs, out, outputs(), "output");
            int rc;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment times = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, 2L * calls));
                try {
                    rc = (int) runProfiled.invokeExact(handle, inputPtrs, outputPtrs, times);
                } catch (Throwable t) {
                    throw new IllegalStateException("calling kiln_model_run_profiled failed", t);
                }
                if (rc != 0) throw new TargetException("kiln_model_run_profiled failed (" + rc + ") for " + path + ": " + lastError());
                return times.asSlice(0, 16L * calls).toArray(ValueLayout.JAVA_LONG);
            }
        }

        /**
         * The kernels' time of the last run on the device, in milliseconds, as the device's
         * profiling counters measured it; empty for a library without a device clock (a CPU
         * library) or one created without profiling (KILN_OPENCL_PROFILE=1 or KILN_CUDA_PROFILE=1).
         */
        public java.util.OptionalDouble deviceMillis() {
            if (handle == null) throw new IllegalStateException("session is closed");
            if (deviceMs == null) return java.util.OptionalDouble.empty();
            double ms;
            try {
                ms = (double) deviceMs.invokeExact(handle);
            } catch (Throwable t) {
                throw new IllegalStateException("calling kiln_model_device_ms failed", t);
            }
            return ms < 0 ? java.util.OptionalDouble.empty() : java.util.OptionalDouble.of(ms);
        }

        private static void fill(MemorySegment ptrs, MemorySegment[] segs, List<TensorInfo> infos, String what) {
            if (segs.length != infos.size()) {
                throw new TargetException("the model takes " + infos.size() + " " + what + "s, got " + segs.length);
            }
            for (int i = 0; i < segs.length; i++) {
                MemorySegment s = segs[i];
                TensorInfo info = infos.get(i);
                if (s == null) throw new TargetException(what + " " + i + " (" + info.name() + ") is null");
                if (!s.isNative()) {
                    throw new TargetException(what + " " + i + " (" + info.name() + ") must be a native segment (Arena.allocate)");
                }
                long need = info.bytes();
                if (need >= 0 && s.byteSize() < need) {
                    throw new TargetException(what + " " + i + " (" + info.name() + ", " + info.dtype() + " "
                            + Arrays.toString(info.shape()) + ") needs " + need + " bytes, got " + s.byteSize());
                }
                ptrs.setAtIndex(ValueLayout.ADDRESS, i, s);
            }
        }

        /** Destroys the native handle; idempotent. */
        @Override
        public void close() {
            synchronized (NativeModel.this) {
                if (handle == null) return;
                invoke(destroy, handle);
                handle = null;
                argArena.close();
                openSessions.remove(this);
            }
        }
    }

    /**
     * A model input or output as the metadata describes it. An output whose length the data
     * decides (NonZero, NonMaxSuppression, Unique) has {@code shape} as its bound and names in
     * {@code shapeOutput} the int64 output the library writes its actual shape into; the actual
     * tensor is the start of the buffer, row-major in that shape. {@code ""} for every other tensor.
     */
    public record TensorInfo(String name, String dtype, long[] shape, String shapeOutput) {
        public TensorInfo(String name, String dtype, long[] shape) {
            this(name, dtype, shape, "");
        }

        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        /** Bytes of the dense buffer, or -1 for a dtype this loader does not know. */
        public long bytes() {
            int e = elementBytes(dtype);
            return e < 0 ? -1 : numel() * e;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TensorInfo t && name.equals(t.name) && dtype.equals(t.dtype) && Arrays.equals(shape, t.shape)
                    && shapeOutput.equals(t.shapeOutput);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(shape);
        }

        @Override
        public String toString() {
            return name + ": " + dtype + Arrays.toString(shape);
        }
    }

    /** The parsed metadata: {@code {"name": ..., "inputs": [{name,dtype,shape}], "outputs": [...]}}. */
    public record Metadata(String name, List<TensorInfo> inputs, List<TensorInfo> outputs) {
        public Metadata {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    /** Parses the metadata JSON a Kiln library embeds; extra fields are ignored. */
    public static Metadata parseMetadata(String json) {
        try {
            JsonObject root = JsonParser.parseString(json).getAsJsonObject();
            String name = root.has("name") ? root.get("name").getAsString() : "";
            return new Metadata(name, tensors(root, "inputs"), tensors(root, "outputs"));
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | NullPointerException e) {
            throw new TargetException("malformed model metadata JSON (" + e.getMessage() + ")", e);
        }
    }

    private static List<TensorInfo> tensors(JsonObject root, String key) {
        if (!root.has(key)) throw new TargetException("model metadata lacks '" + key + "'");
        List<TensorInfo> out = new ArrayList<>();
        for (JsonElement e : root.getAsJsonArray(key)) {
            JsonObject t = e.getAsJsonObject();
            JsonArray dims = t.getAsJsonArray("shape");
            long[] shape = new long[dims.size()];
            for (int i = 0; i < shape.length; i++) shape[i] = dims.get(i).getAsLong();
            String shapeOutput = t.has("shape_output") ? t.get("shape_output").getAsString() : "";
            out.add(new TensorInfo(t.get("name").getAsString(), t.get("dtype").getAsString(), shape, shapeOutput));
        }
        return out;
    }

    /** Bytes per element of a metadata dtype name (ONNX-style lower-case names). */
    public static int elementBytes(String dtype) {
        return switch (dtype) {
            case "bool", "int8", "uint8" -> 1;
            case "float16", "bfloat16", "int16", "uint16" -> 2;
            case "float32", "int32", "uint32" -> 4;
            case "float64", "int64", "uint64" -> 8;
            default -> -1;
        };
    }

    /** The architecture an ELF file is built for (x86_64, aarch64, or "machine N"), null if unreadable. */
    static String elfArch(Path p) {
        try (var in = Files.newInputStream(p)) {
            byte[] h = in.readNBytes(20);
            if (h.length < 20) return null;
            int machine = (h[18] & 0xff) | (h[19] & 0xff) << 8;
            return switch (machine) {
                case 0x3e -> "x86_64";
                case 0xb7 -> "aarch64";
                default -> "machine " + machine;
            };
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static boolean isElf(Path p) {
        try (var in = Files.newInputStream(p)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        } catch (java.io.IOException e) {
            throw new TargetException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private static String cString(MemorySegment p) {
        if (p.equals(MemorySegment.NULL)) return "";
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static Object invoke(MethodHandle h, Object... args) {
        try {
            return h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
