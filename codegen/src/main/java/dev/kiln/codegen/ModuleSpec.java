package dev.kiln.codegen;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.schedules.ops.Kernel;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the ahead-of-time executor of one compiled model needs: its kernels, the order in
 * which they run and which buffers each call gets, the weights, the workspace size of the
 * static memory plan, and the metadata JSON returned by {@code kiln_model_metadata()}.
 */
public record ModuleSpec(String name, List<TensorSpec> inputs, List<TensorSpec> outputs, List<Constant> constants,
                         long workspaceBytes, List<PrimFunc> kernels, List<KernelCall> calls, String metadataJson) {
    public ModuleSpec {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        constants = List.copyOf(constants);
        kernels = List.copyOf(kernels);
        calls = List.copyOf(calls);
    }

    /**
     * Checks that every call names a kernel of the spec with one argument per parameter, and
     * that every argument buffer is large enough for the kernel's parameter, so that a wrong
     * plan fails here with a message rather than as memory corruption at run time. Throws
     * IllegalArgumentException (a bug in whatever built the spec).
     */
    public void validate() {
        Map<String, PrimFunc> byName = new HashMap<>();
        for (PrimFunc f : kernels) {
            if (byName.put(f.name(), f) != null) throw new IllegalArgumentException("kernel " + f.name() + " is defined twice");
            if (f.name().startsWith("kiln_model_")) throw new IllegalArgumentException("kernel name " + f.name() + " is reserved");
        }
        if (workspaceBytes < 0) throw new IllegalArgumentException("negative workspace size " + workspaceBytes);
        for (int c = 0; c < calls.size(); c++) {
            KernelCall call = calls.get(c);
            String where = "call " + c + " (" + call.kernel() + ")";
            PrimFunc f = byName.get(call.kernel());
            if (f == null) throw new IllegalArgumentException(where + ": no kernel named " + call.kernel() + " in the module");
            if (call.args().size() != f.params().size()) {
                throw new IllegalArgumentException(where + ": " + call.args().size() + " arguments for "
                        + f.params().size() + " parameters");
            }
            for (int i = 0; i < f.params().size(); i++) {
                Buffer p = f.params().get(i);
                long need = p.size() * p.dtype().bytes();
                String arg = where + " argument " + i + " (" + p.name() + ", " + need + " bytes)";
                long have = switch (call.args().get(i)) {
                    case Arg.Input(int k) -> bytesOf(inputs, k, arg, "input");
                    case Arg.Output(int k) -> bytesOf(outputs, k, arg, "output");
                    case Arg.Const(int k) -> {
                        if (k < 0 || k >= constants.size()) throw new IllegalArgumentException(arg + ": no constant " + k);
                        yield constants.get(k).data().length;
                    }
                    case Arg.Workspace(long off) -> {
                        if (off < 0 || off % 64 != 0) {
                            throw new IllegalArgumentException(arg + ": workspace offset " + off + " is not a non-negative multiple of 64");
                        }
                        yield workspaceBytes - off;
                    }
                };
                if (have < need) throw new IllegalArgumentException(arg + ": the buffer it gets has only " + have + " bytes");
            }
        }
    }

    private static long bytesOf(List<TensorSpec> specs, int k, String arg, String what) {
        if (k < 0 || k >= specs.size()) throw new IllegalArgumentException(arg + ": no " + what + " " + k);
        return specs.get(k).bytes();
    }

    /**
     * The metadata JSON to embed: {@link #metadataJson} if given, else one generated from the
     * inputs and outputs in the schema the loader reads: {@code {"name", "inputs": [{"name",
     * "dtype", "shape"}], "outputs": [...]}}, dtypes named as in numpy ({@code float32}, ...).
     */
    public String metadataJsonOrDefault() {
        if (metadataJson != null && !metadataJson.isBlank()) return metadataJson;
        JsonObject o = new JsonObject();
        o.addProperty("name", name);
        o.add("inputs", tensorsJson(inputs));
        o.add("outputs", tensorsJson(outputs));
        return o.toString();
    }

    /** Tensors as the metadata lists them: name, dtype, shape, and {@code shape_output} where there is one. */
    public static JsonArray tensorsJson(List<TensorSpec> specs) {
        JsonArray a = new JsonArray();
        for (TensorSpec s : specs) {
            JsonObject t = new JsonObject();
            t.addProperty("name", s.name());
            t.addProperty("dtype", dtypeName(s.dtype()));
            JsonArray shape = new JsonArray();
            s.shape().forEach(shape::add);
            t.add("shape", shape);
            if (!s.shapeOutput().isEmpty()) t.addProperty("shape_output", s.shapeOutput());
            a.add(t);
        }
        return a;
    }

    /** The numpy/ONNX-style name of a scalar type, as used in the metadata and the header. */
    public static String dtypeName(ScalarType t) {
        return switch (t) {
            case BOOL -> "bool";
            case I8 -> "int8";
            case I16 -> "int16";
            case I32 -> "int32";
            case I64 -> "int64";
            case U8 -> "uint8";
            case U16 -> "uint16";
            case U32 -> "uint32";
            case U64 -> "uint64";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case F32 -> "float32";
            case F64 -> "float64";
        };
    }

    /** A model input or output as the C ABI sees it: a dense row-major buffer. */
    /**
     * An input or output. {@code shapeOutput} names the output holding the actual shape of an
     * output whose length the data decides ({@code shape} is then its bound), else {@code ""}.
     */
    public record TensorSpec(String name, ScalarType dtype, List<Long> shape, String shapeOutput) {
        public TensorSpec(String name, ScalarType dtype, List<Long> shape) {
            this(name, dtype, shape, "");
        }

        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long bytes() {
            return numel() * dtype.bytes();
        }
    }

    /** Constant data (weights) embedded read-only in the library, 64-byte aligned. */
    public record Constant(String name, byte[] data) {}

    /**
     * One call of a kernel by the executor, with one argument per kernel parameter; {@code info}
     * describes it in profiles. With {@code guards}, the call is made only when each guard's
     * condition (a bool written before the call) holds, checked in order: the kernel belongs to
     * the branches of Ifs decided at run time (executors that ignore guards stay correct).
     */
    public record KernelCall(String kernel, List<Arg> args, Kernel.Info info, List<Guard> guards) {
        public KernelCall {
            args = List.copyOf(args);
            if (info == null) info = Kernel.Info.NONE;
            guards = List.copyOf(guards);
        }

        public KernelCall(String kernel, List<Arg> args, Kernel.Info info) {
            this(kernel, args, info, List.of());
        }

        public KernelCall(String kernel, List<Arg> args) {
            this(kernel, args, Kernel.Info.NONE);
        }
    }

    /** Run a call only when the bool in {@code cond} (its first byte) is {@code when}. */
    public record Guard(Arg cond, boolean when) {}

    /**
     * What {@code kiln_model_profile_info()} returns: a JSON array with one object per call, in
     * call order: {@code {"kernel", "node", "ops": [...], "template", "layout", "flops", "bytes"}}.
     * {@code bytes} is what the kernel's parameters hold (the tensors it reads and writes, each
     * counted once): the least memory traffic of a run.
     */
    public String profileJson() {
        Map<String, PrimFunc> byName = new HashMap<>();
        for (PrimFunc f : kernels) byName.put(f.name(), f);
        JsonArray a = new JsonArray();
        for (KernelCall c : calls) {
            JsonObject o = new JsonObject();
            o.addProperty("kernel", c.kernel());
            o.addProperty("node", c.info().node());
            JsonArray ops = new JsonArray();
            c.info().ops().forEach(ops::add);
            o.add("ops", ops);
            o.addProperty("template", c.info().template());
            o.addProperty("layout", c.info().layout());
            o.addProperty("flops", c.info().flops());
            long bytes = 0;
            PrimFunc f = byName.get(c.kernel());
            if (f != null) for (Buffer p : f.params()) bytes += p.size() * p.dtype().bytes();
            o.addProperty("bytes", bytes);
            a.add(o);
        }
        return a.toString();
    }

    /** Where a kernel argument points. */
    public sealed interface Arg {
        /** The caller's input buffer number {@code index} (read-only). */
        record Input(int index) implements Arg {}

        /** The caller's output buffer number {@code index}. */
        record Output(int index) implements Arg {}

        /** The embedded constant number {@code index} (read-only). */
        record Const(int index) implements Arg {}

        /** The handle's workspace at {@code offset} bytes (a multiple of 64). */
        record Workspace(long offset) implements Arg {}
    }
}
